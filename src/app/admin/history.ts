/**
 * History for everyone: my requests of the last 90 days with their outcome, the decisions I
 * made, and — for administrators and the auditors named in pim.yaml — the audit log, filtered by
 * person, role, event and period, or exported as CSV (the same rows `pim audit export` gives).
 */
import { type AuditFilter, type AuditRow, exportAuditCsv } from "../../db/audit-log.js";
import type { DbHandle } from "../../db/client.js";
import { toActivation } from "../../db/repos/activations.js";
import { activationsRequestedSince, decisionsMadeSince, newestAuditEvents } from "../../db/repos/history.js";
import { type ActivationStatus, describeStatus } from "../../domain/activation.js";
import { DAY } from "../../domain/duration.js";
import type { Refusal } from "../../domain/refusal.js";
import { ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAuditReader } from "./administrators.js";

export const HISTORY_DAYS = 90;
export const AUDIT_PAGE = 50;

export interface RequestHistoryItem {
  requestId: string;
  requestedAt: Date;
  justification: string | null;
  ticket: string | null;
  roles: {
    activationId: string;
    roleKey: string;
    roleName: string;
    scope: string;
    status: ActivationStatus;
    /** "Active until …", "Denied: …", "Ended (expired)". */
    outcome: string;
    reason: string | null;
    activatedAt: Date | null;
    endsAt: Date | null;
  }[];
}

/** My requests of the last 90 days, newest first, each with the outcome of every role. */
export async function myRequestHistory(
  deps: Pick<EngineDeps, "db" | "clock">,
  userId: string,
  days = HISTORY_DAYS,
): Promise<RequestHistoryItem[]> {
  const since = new Date(deps.clock.now().getTime() - days * DAY);
  const rows = await activationsRequestedSince(deps.db, userId, since);
  const byRequest = new Map<string, RequestHistoryItem>();
  for (const { activation: a, role } of rows) {
    const item = byRequest.get(a.requestId) ?? {
      requestId: a.requestId,
      requestedAt: a.requestedAt,
      justification: a.justification,
      ticket: a.ticket,
      roles: [],
    };
    const status = a.status as ActivationStatus;
    item.roles.push({
      activationId: a.id,
      roleKey: role.key,
      roleName: role.name,
      scope: a.scope,
      status,
      outcome: describeStatus(toActivation(a)),
      reason: a.reason,
      activatedAt: a.activatedAt,
      endsAt: a.endsAt,
    });
    byRequest.set(a.requestId, item);
  }
  return [...byRequest.values()];
}

export interface DecisionHistoryItem {
  requestId: string;
  activationId: string;
  requester: { key: string; name: string };
  roleName: string;
  scope: string;
  decision: "approve" | "deny";
  comment: string | null;
  at: Date;
  /** Where the request stands now. */
  status: string;
}

/** The approval decisions I made in the last 90 days, newest first. */
export async function myDecisionHistory(
  deps: Pick<EngineDeps, "db" | "clock">,
  approverId: string,
  days = HISTORY_DAYS,
): Promise<DecisionHistoryItem[]> {
  const since = new Date(deps.clock.now().getTime() - days * DAY);
  return (await decisionsMadeSince(deps.db, approverId, since)).map((r) => ({
    requestId: r.decision.requestId,
    activationId: r.decision.activationId,
    requester: r.requester,
    roleName: r.role.name,
    scope: r.scope,
    decision: r.decision.decision,
    comment: r.decision.comment,
    at: r.decision.decidedAt,
    status: r.status,
  }));
}

export type AuditQuery = Pick<AuditFilter, "from" | "to" | "principal" | "role" | "event"> & { limit?: number };

/** The newest audit events matching the filter (at most `limit`, default 50), for administrators and auditors. */
export async function auditHistory(
  deps: EngineDeps,
  actor: Actor,
  query: AuditQuery,
): Promise<Result<AuditRow[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "audit.query");
    if (!reader.ok) return reader;
    return ok(await newestAuditEvents(work.tx, query, Math.min(Math.max(query.limit ?? AUDIT_PAGE, 1), 1000)));
  });
}

/**
 * Streams the audit log as CSV to `out` for an administrator or auditor: the same rows and
 * columns as `pim audit export` with the same filter. The export itself is audited.
 */
export async function exportAuditFor(
  deps: EngineDeps,
  handle: Pick<DbHandle, "db" | "sql">,
  actor: Actor,
  filter: Omit<AuditFilter, "limit" | "afterId">,
  out: NodeJS.WritableStream,
): Promise<Result<{ rows: number }, Refusal>> {
  const allowed = await inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "audit.export");
    if (!reader.ok) return reader;
    work.audit({
      event: "audit.exported",
      actor: reader.value.key,
      data: {
        from: filter.from ?? null,
        to: filter.to ?? null,
        principal: filter.principal ?? null,
        role: filter.role ?? null,
        event: filter.event ?? null,
        requestId: filter.requestId ?? null,
      },
    });
    return reader;
  });
  if (!allowed.ok) return allowed;
  return ok(await exportAuditCsv(handle, filter, out));
}
