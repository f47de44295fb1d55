import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { Activation, ActivationStatus } from "../../domain/activation.js";
import { type Executor, resultRows } from "../client.js";
import { inIds } from "../id-list.js";
import { rowReader } from "../rows.js";
import { activations, approvals, holdingColumns } from "../schema/activations.js";
import { writeBehind } from "../unit-of-work.js";

const activationRows = rowReader(activations);
const approvalRows = rowReader(approvals);

type Row = typeof activations.$inferSelect;
export type StoredActivation = Activation & { version: number; origin: string; basis: string };

export function toActivation(row: Row): StoredActivation {
  const base = {
    id: row.id,
    requestId: row.requestId,
    principalId: row.principalId,
    roleId: row.roleId,
    scope: row.scope,
    durationMs: row.durationMs,
    justification: row.justification,
    ticket: row.ticket,
    requestedAt: row.requestedAt,
    mfaRequired: row.mfaRequired,
    mfaSatisfiedAt: row.mfaSatisfiedAt,
    approvalRequired: row.approvalRequired,
    approvalsNeeded: row.approvalsNeeded,
    approvalDeadline: row.approvalDeadline,
    extendsId: row.extendsId,
    startsAt: row.startsAt,
    version: row.version,
    origin: row.origin,
    basis: row.basis,
  };
  const status = row.status as ActivationStatus;
  switch (status) {
    case "requested":
    case "pending_mfa":
    case "pending_approval":
    case "activating":
      return { ...base, status };
    case "active":
      return { ...base, status, activatedAt: row.activatedAt!, endsAt: row.endsAt! };
    case "ending":
      return {
        ...base,
        status,
        activatedAt: row.activatedAt,
        endsAt: row.endsAt!,
        reason: row.reason as never,
        closedBy: row.closedBy!,
      };
    case "ended":
      return {
        ...base,
        status,
        activatedAt: row.activatedAt,
        endsAt: row.endsAt!,
        reason: row.reason as never,
        closedBy: row.closedBy!,
        closedAt: row.closedAt!,
      };
    case "denied":
    case "canceled":
    case "timed_out":
    case "failed":
      return { ...base, status, reason: row.reason ?? "", closedBy: row.closedBy ?? "system", closedAt: row.closedAt! };
    default: {
      const never: never = status;
      throw new Error(`unknown activation status ${String(never)}`);
    }
  }
}

/** Columns that change with the state; the facts of a request are written once, at insert. */
function stateColumns(a: Activation) {
  return {
    status: a.status,
    mfaSatisfiedAt: a.mfaSatisfiedAt,
    activatedAt: "activatedAt" in a ? a.activatedAt : null,
    endsAt: "endsAt" in a ? a.endsAt : null,
    closedAt: "closedAt" in a ? a.closedAt : null,
    reason: "reason" in a ? a.reason : null,
    closedBy: "closedBy" in a ? a.closedBy : null,
  };
}

/** Inserts new requests' activations, written behind (see src/db/unit-of-work.ts). */
export function insertActivations(
  tx: Executor,
  items: { activation: Activation; origin: string; basis: string }[],
): Promise<void> {
  if (items.length === 0) return Promise.resolve();
  const write = tx.insert(activations).values(
    items.map(({ activation: a, origin, basis }) => ({
      id: a.id,
      requestId: a.requestId,
      principalId: a.principalId,
      roleId: a.roleId,
      scope: a.scope,
      durationMs: a.durationMs,
      justification: a.justification,
      ticket: a.ticket,
      requestedAt: a.requestedAt,
      origin,
      basis,
      extendsId: a.extendsId,
      startsAt: a.startsAt,
      mfaRequired: a.mfaRequired,
      approvalRequired: a.approvalRequired,
      approvalsNeeded: a.approvalsNeeded,
      approvalDeadline: a.approvalDeadline,
      ...stateColumns(a),
    })),
  );
  return writeBehind(
    tx,
    write.then(() => {}),
  );
}

export class ConcurrentChangeError extends Error {
  readonly code = "CONCURRENT_CHANGE";
}

/**
 * Writes transitions, any number in one statement, each only where the activation is still at the
 * version it was decided on: a lost race fails the unit (ConcurrentChangeError) instead of
 * acting twice. Written behind: the unit goes on without waiting (see src/db/unit-of-work.ts).
 */
export function saveTransitions(
  tx: Executor,
  transitions: { next: Activation; version: number; evidence?: Record<string, unknown> }[],
): Promise<void> {
  if (transitions.length === 0) return Promise.resolve();
  const rows = transitions.map(({ next, version, evidence }) => {
    const state = stateColumns(next);
    return {
      id: next.id,
      version,
      status: state.status,
      mfa_satisfied_at: state.mfaSatisfiedAt?.toISOString() ?? null,
      activated_at: state.activatedAt?.toISOString() ?? null,
      ends_at: state.endsAt?.toISOString() ?? null,
      closed_at: state.closedAt?.toISOString() ?? null,
      reason: state.reason,
      closed_by: state.closedBy,
      mfa_evidence: evidence ?? null,
    };
  });
  const write = tx
    .execute(sql`
      update activations a set status = x.status, mfa_satisfied_at = x.mfa_satisfied_at,
        activated_at = x.activated_at, ends_at = x.ends_at, closed_at = x.closed_at, reason = x.reason,
        closed_by = x.closed_by, mfa_evidence = coalesce(x.mfa_evidence, a.mfa_evidence), version = x.version + 1
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as x(id text, version int, status text,
        mfa_satisfied_at timestamptz, activated_at timestamptz, ends_at timestamptz, closed_at timestamptz,
        reason text, closed_by text, mfa_evidence jsonb)
      where a.id = x.id and a.version = x.version
      returning a.id`)
    .then((updated) => {
      const saved = new Set(resultRows<{ id: string }>(updated).map((r) => r.id));
      const lost = rows.find((r) => !saved.has(r.id));
      if (lost) throw new ConcurrentChangeError(`activation ${lost.id} changed concurrently`);
    });
  return writeBehind(tx, write);
}

export async function getActivation(
  tx: Executor,
  id: string,
  forUpdate = false,
): Promise<StoredActivation | undefined> {
  const [row] = await activationRows.select(tx, sql`where id = ${id} ${forUpdate ? sql`for update` : sql``}`);
  return row ? toActivation(row) : undefined;
}

/** Every role of a request, locked in id order so two deciders queue instead of deadlocking. */
export async function lockRequest(tx: Executor, requestId: string): Promise<StoredActivation[]> {
  const rows = await activationRows.select(tx, sql`where request_id = ${requestId} order by id for update`);
  return rows.map(toActivation);
}

export async function listRequest(tx: Executor, requestId: string): Promise<StoredActivation[]> {
  const rows = await activationRows.select(tx, sql`where request_id = ${requestId} order by id`);
  return rows.map(toActivation);
}

export async function listForPrincipal(
  tx: Executor,
  principalId: string,
  statuses: readonly string[],
): Promise<StoredActivation[]> {
  const rows = await activationRows.select(
    tx,
    sql`where principal_id = ${principalId} and status in (select jsonb_array_elements_text(${JSON.stringify(statuses)}::text::jsonb)) order by requested_at`,
  );
  return rows.map(toActivation);
}

/**
 * Up to `limit` active activations whose time is up, oldest first, locked; rows another replica is
 * already ending are skipped, never waited for.
 */
export async function lockDueToExpire(tx: Executor, now: Date, limit: number): Promise<StoredActivation[]> {
  const rows = await activationRows.select(
    tx,
    sql`where status = 'active' and ends_at <= ${now.toISOString()}::timestamptz order by ends_at, id limit ${limit} for update skip locked`,
  );
  return rows.map(toActivation);
}

/** Activations by id, locked in id order (so two units locking several queue instead of deadlocking). */
export async function lockActivations(tx: Executor, ids: readonly string[]): Promise<StoredActivation[]> {
  if (ids.length === 0) return [];
  const rows = await activationRows.select(
    tx,
    sql`where ${inIds(activations.id, [...new Set(ids)])} order by id for update`,
  );
  return rows.map(toActivation);
}

/** Pending requests whose approval deadline has passed. */
export async function dueToTimeOut(tx: Executor, now: Date, limit: number): Promise<string[]> {
  const rows = await tx
    .selectDistinct({ requestId: activations.requestId })
    .from(activations)
    .where(
      and(inArray(activations.status, ["pending_mfa", "pending_approval"]), lte(activations.approvalDeadline, now)),
    )
    .limit(limit);
  return rows.map((r) => r.requestId);
}

export async function decisionsFor(tx: Executor, activationIds: string[]) {
  if (activationIds.length === 0) return [];
  return approvalRows.select(
    tx,
    sql`where activation_id in (select jsonb_array_elements_text(${JSON.stringify(activationIds)}::text::jsonb)) order by decided_at`,
  );
}

/** Every decision on a request's roles, oldest first (a request's approvals carry its id). */
export async function decisionsForRequest(tx: Executor, requestId: string) {
  return approvalRows.select(tx, sql`where request_id = ${requestId} order by decided_at`);
}

/** Records an approver's decision, written behind (see src/db/unit-of-work.ts). */
export function insertDecision(
  tx: Executor,
  row: {
    id: string;
    activationId: string;
    requestId: string;
    approverId: string;
    decision: "approve" | "deny";
    comment: string | null;
    decidedAt: Date;
  },
): Promise<void> {
  return writeBehind(
    tx,
    tx
      .insert(approvals)
      .values(row)
      .then(() => {}),
  );
}

/** How often a principal activated a role since a moment (shown to approvers). */
export async function countActivationsSince(
  tx: Executor,
  principalId: string,
  roleId: string,
  since: Date,
): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(activations)
    .where(
      and(
        eq(activations.principalId, principalId),
        eq(activations.roleId, roleId),
        sql`${activations.activatedAt} >= ${since.toISOString()}`,
      ),
    );
  return row?.n ?? 0;
}

/** Every activation in one of these states, locked, in id order (apply ends what lost its backing). */
export async function lockByStatus(tx: Executor, statuses: readonly string[]): Promise<StoredActivation[]> {
  const rows = await activationRows.select(
    tx,
    sql`where status in (select jsonb_array_elements_text(${JSON.stringify(statuses)}::text::jsonb)) order by id for update`,
  );
  return rows.map(toActivation);
}

/** What the active activations of these roles hold. */
export async function activeActivationsOfRoles(
  tx: Executor,
  roleIds: string[],
): Promise<{ id: string; principalId: string; roleId: string; scope: string }[]> {
  return tx
    .select(holdingColumns)
    .from(activations)
    .where(and(eq(activations.status, "active"), inArray(activations.roleId, roleIds)));
}
