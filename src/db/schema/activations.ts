import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at } from "./columns.js";
import { principals } from "./principals.js";
import { roles } from "./roles.js";

/** One row per role requested; several roles asked for together share a request id. */
export const activations = pgTable(
  "activations",
  {
    id: text("id").primaryKey(),
    requestId: text("request_id").notNull(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    scope: text("scope").notNull(),
    status: text("status").notNull(),
    durationMs: bigint("duration_ms", { mode: "number" }).notNull(),
    justification: text("justification"),
    ticket: text("ticket"),
    requestedAt: at("requested_at").notNull(),
    /** How the request arrived: slack, teams, api or cli. */
    origin: text("origin").notNull(),
    /** "eligible" (went through policy), "break_glass" (exempt, always alerted). */
    basis: text("basis").notNull(),
    extendsId: text("extends_id"),
    /** A scheduled start: the grant waits until then. */
    startsAt: at("starts_at"),
    mfaRequired: boolean("mfa_required").notNull(),
    mfaSatisfiedAt: at("mfa_satisfied_at"),
    mfaEvidence: jsonb("mfa_evidence").$type<Record<string, unknown>>(),
    approvalRequired: boolean("approval_required").notNull(),
    approvalsNeeded: integer("approvals_needed").notNull(),
    approvalDeadline: at("approval_deadline"),
    activatedAt: at("activated_at"),
    endsAt: at("ends_at"),
    closedAt: at("closed_at"),
    /** Why it ended or was closed: expired, deactivated, revoked, superseded, or a refusal sentence. */
    reason: text("reason"),
    closedBy: text("closed_by"),
    version: integer("version").notNull().default(0),
  },
  (t) => [
    index("activations_request_idx").on(t.requestId),
    index("activations_principal_idx").on(t.principalId, t.status),
    index("activations_status_ends_idx").on(t.status, t.endsAt),
    index("activations_status_deadline_idx").on(t.status, t.approvalDeadline),
  ],
);

export const approvals = pgTable(
  "approvals",
  {
    id: text("id").primaryKey(),
    activationId: text("activation_id")
      .notNull()
      .references(() => activations.id),
    requestId: text("request_id").notNull(),
    approverId: text("approver_id")
      .notNull()
      .references(() => principals.id),
    decision: text("decision", { enum: ["approve", "deny"] }).notNull(),
    comment: text("comment"),
    decidedAt: at("decided_at").notNull(),
  },
  (t) => [
    uniqueIndex("approvals_once_idx").on(t.activationId, t.approverId),
    index("approvals_request_idx").on(t.requestId),
  ],
);

/** The columns that say what an activation holds, for selects that need no more: `{ ...holdingColumns, … }`. */
export const holdingColumns = {
  id: activations.id,
  principalId: activations.principalId,
  roleId: activations.roleId,
  scope: activations.scope,
};
