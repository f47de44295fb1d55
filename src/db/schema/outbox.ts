import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns.js";

/**
 * Durable work enqueued in the same transaction as the state change that needs it:
 * grants and revokes on targets (and, later, notifications). Claimed with FOR UPDATE SKIP LOCKED.
 */
export const outboxJobs = pgTable(
  "outbox_jobs",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    /** Jobs with the same key run one at a time, in creation order (a grant before its revoke). */
    key: text("key").notNull(),
    activationId: text("activation_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: ["pending", "done", "failed", "canceled"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    runAt: at("run_at").notNull(),
    lockedUntil: at("locked_until"),
    lockedBy: text("locked_by"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    finishedAt: at("finished_at"),
  },
  // Only pending jobs are looked up by key and by due time, and a finished job's old index entry
  // lingers until vacuum: indexes over pending jobs alone keep those lookups short.
  (t) => [
    index("outbox_pending_due_idx").on(t.runAt).where(sql`status = 'pending'`),
    index("outbox_pending_key_idx").on(t.key).where(sql`status = 'pending'`),
    index("outbox_activation_idx").on(t.activationId),
  ],
);
