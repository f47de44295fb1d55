import { sql } from "drizzle-orm";
import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns.js";
import { principals } from "./principals.js";
import { roles } from "./roles.js";

/**
 * What waits for a decision or a step-up before an assignment changes: an active assignment held
 * until its administrator's MFA step-up (`assign`), and a holder's extension (`extend`) or
 * renewal (`renew`) waiting for an administrator.
 */
export const assignmentRequests = pgTable(
  "assignment_requests",
  {
    id: text("id").primaryKey(),
    type: text("type", { enum: ["assign", "extend", "renew"] }).notNull(),
    status: text("status", { enum: ["pending", "approved", "denied", "canceled"] })
      .notNull()
      .default("pending"),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    scope: text("scope").notNull(),
    kind: text("kind", { enum: ["eligible", "active"] }).notNull(),
    startsAt: at("starts_at"),
    endsAt: at("ends_at"),
    justification: text("justification"),
    /** The assignment extended or renewed (it may be gone by the time someone decides). */
    assignmentId: text("assignment_id"),
    /** Principal id of who asked: the administrator (assign) or the holder (extend, renew). */
    requestedBy: text("requested_by").notNull(),
    requestedAt: at("requested_at").notNull(),
    decidedBy: text("decided_by"),
    decidedAt: at("decided_at"),
    comment: text("comment"),
  },
  (t) => [
    index("assignment_requests_status_idx").on(t.status, t.type),
    uniqueIndex("assignment_requests_open_idx")
      .on(t.assignmentId, t.type)
      .where(sql`${t.status} = 'pending' and ${t.assignmentId} is not null`),
  ],
);

/**
 * Assignments that pim.yaml declares but an access review or an administrator removed: `apply`
 * does not put them back. Keys, not ids, so the record outlives the rows it names; deleting the
 * row (`pim assignments restore`) lets the next apply restore the assignment.
 */
export const assignmentRemovals = pgTable(
  "assignment_removals",
  {
    principalKey: text("principal_key").notNull(),
    roleKey: text("role_key").notNull(),
    scope: text("scope").notNull(),
    kind: text("kind", { enum: ["eligible", "active"] }).notNull(),
    /** "review" or "admin". */
    removedBy: text("removed_by", { enum: ["review", "admin"] }).notNull(),
    /** The review's title and campaign id, or the administrator's key. */
    byName: text("by_name").notNull(),
    campaignId: text("campaign_id"),
    reason: text("reason"),
    removedAt: at("removed_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("assignment_removals_identity_idx").on(t.principalKey, t.roleKey, t.scope, t.kind)],
);
