import { bigserial, index, jsonb, pgTable, smallint, text } from "drizzle-orm/pg-core";
import { at } from "./columns.js";

/**
 * Append-only and hash-chained: each row stores the previous row's hash and the hash of its own
 * canonical content. A trigger (see the drizzle/ migration) refuses UPDATE and DELETE.
 * Names are stored as written at the time (principal and role keys), so history survives deletions.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Which of the interleaved hash chains the event belongs to (see AUDIT_LANES). */
    lane: smallint("lane").notNull().default(0),
    at: at("at").notNull(),
    event: text("event").notNull(),
    actor: text("actor").notNull(),
    subject: text("subject"),
    role: text("role"),
    scope: text("scope"),
    requestId: text("request_id"),
    activationId: text("activation_id"),
    justification: text("justification"),
    ticket: text("ticket"),
    decision: text("decision"),
    approver: text("approver"),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    index("audit_lane_idx").on(t.lane, t.id),
    index("audit_at_idx").on(t.at),
    index("audit_subject_idx").on(t.subject, t.at),
    index("audit_role_idx").on(t.role, t.at),
    index("audit_event_idx").on(t.event, t.at),
    index("audit_request_idx").on(t.requestId),
  ],
);

/**
 * The last hash of each lane. An appender locks its lane's row (FOR UPDATE SKIP LOCKED) and reads
 * the hash to link onto in one statement, then moves the head in the statement that inserts the
 * events. verify also checks that each head is the hash of a stored event, so that events cut
 * from the end of a lane are found too.
 */
export const auditLanes = pgTable("audit_lanes", {
  lane: smallint("lane").primaryKey(),
  hash: text("hash").notNull(),
});
