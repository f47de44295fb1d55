/**
 * The facts the alert rules are evaluated on, read as of `now`, one statement each: who the users
 * are, what principals hold, how often and when roles were activated, break-glass uses, what the
 * audit log recorded and which revokes keep failing.
 */
import { sql } from "drizzle-orm";
import type {
  ActivationCountFact,
  BreakGlassUseFact,
  FailingRevokeFact,
  HoldingFact,
  LastActivationFact,
  UserFact,
} from "../../domain/alert-rules.js";
import { type Executor, resultRows } from "../client.js";

const iso = (d: Date) => d.toISOString();
const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

async function rows<T>(tx: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  return resultRows<T>(await tx.execute(query));
}

/** Users not retired. */
export async function currentUsers(tx: Executor): Promise<UserFact[]> {
  const found = await rows<{ key: string; name: string; break_glass: boolean }>(
    tx,
    sql`select key, name, break_glass from principals where kind = 'user' and retired_at is null`,
  );
  return found.map((u) => ({ key: u.key, name: u.name, breakGlass: u.break_glass }));
}

export type GroupHoldingFact = Omit<HoldingFact, "user"> & { group: string };

/**
 * The roles principals hold in force now: users directly or through (nested) groups, and groups
 * themselves (through which PIM for Groups members reach further).
 */
export async function holdingsInForce(
  tx: Executor,
  now: Date,
): Promise<{ users: HoldingFact[]; groups: GroupHoldingFact[] }> {
  const found = await rows<{
    principal_key: string;
    principal_kind: "user" | "group";
    role_key: string;
    kind: "eligible" | "active";
    since: unknown;
  }>(
    tx,
    sql`
      with recursive members(group_id, member_id) as (
        select group_id, member_id from group_members where relation = 'member'
        union
        select m.group_id, gm.member_id from members m
          join group_members gm on gm.group_id = m.member_id and gm.relation = 'member'
      )
      select p.key as principal_key, p.kind as principal_kind, r.key as role_key, a.kind,
             coalesce(a.starts_at, a.created_at) as since
      from assignments a
      join roles r on r.id = a.role_id and r.retired_at is null
      left join members m on m.group_id = a.principal_id
      join principals p on p.id = coalesce(m.member_id, a.principal_id) and p.retired_at is null
      where (a.starts_at is null or a.starts_at <= ${iso(now)}::timestamptz)
        and (a.ends_at is null or a.ends_at > ${iso(now)}::timestamptz)`,
  );
  const fact = (h: (typeof found)[number]) => ({ role: h.role_key, kind: h.kind, since: date(h.since) });
  return {
    users: found.filter((h) => h.principal_kind === "user").map((h) => ({ user: h.principal_key, ...fact(h) })),
    groups: found.filter((h) => h.principal_kind === "group").map((h) => ({ group: h.principal_key, ...fact(h) })),
  };
}

/** When each user last activated each role, up to `now`. */
export async function lastActivationTimes(tx: Executor, now: Date): Promise<LastActivationFact[]> {
  const found = await rows<{ user_key: string; role_key: string; at: unknown }>(
    tx,
    sql`
      select p.key as user_key, r.key as role_key, max(a.activated_at) as at
      from activations a join principals p on p.id = a.principal_id join roles r on r.id = a.role_id
      where a.activated_at is not null and a.activated_at <= ${iso(now)}::timestamptz
      group by p.key, r.key`,
  );
  return found.map((a) => ({ user: a.user_key, role: a.role_key, at: date(a.at) }));
}

/** Activations per user and role in (from, to], only where there were more than `moreThan`. */
export async function activationCountsAbove(
  tx: Executor,
  from: Date,
  to: Date,
  moreThan: number,
): Promise<ActivationCountFact[]> {
  const found = await rows<{ user_key: string; role_key: string; n: number | string }>(
    tx,
    sql`
      select p.key as user_key, r.key as role_key, count(*) as n
      from activations a join principals p on p.id = a.principal_id join roles r on r.id = a.role_id
      where a.activated_at > ${iso(from)}::timestamptz and a.activated_at <= ${iso(to)}::timestamptz
      group by p.key, r.key
      having count(*) > ${moreThan}`,
  );
  return found.map((a) => ({ user: a.user_key, role: a.role_key, count: Number(a.n) }));
}

/** Break-glass activations held now or requested in (from, now]. */
export async function breakGlassActivations(tx: Executor, from: Date, now: Date): Promise<BreakGlassUseFact[]> {
  const found = await rows<{
    id: string;
    user_key: string;
    role_key: string;
    scope: string;
    at: unknown;
    holding: boolean;
  }>(
    tx,
    sql`
      select a.id, p.key as user_key, r.key as role_key, a.scope, a.requested_at as at,
             a.status in ('activating', 'active') as holding
      from activations a join principals p on p.id = a.principal_id join roles r on r.id = a.role_id
      where a.basis = 'break_glass'
        and (a.status in ('activating', 'active') or a.requested_at > ${iso(from)}::timestamptz)
        and a.requested_at <= ${iso(now)}::timestamptz`,
  );
  return found.map((u) => ({
    id: u.id,
    user: u.user_key,
    role: u.role_key,
    scope: u.scope,
    at: date(u.at),
    holding: u.holding,
  }));
}

/** An audit event as the alert rules read it. */
export interface AuditFact {
  id: string;
  actor: string;
  subject: string | null;
  role: string | null;
  scope: string | null;
  requestId: string | null;
  at: Date;
  data: Record<string, unknown>;
}

/** The audit events of one kind recorded in (from, to]. */
export async function auditEventsBetween(tx: Executor, event: string, from: Date, to: Date): Promise<AuditFact[]> {
  const found = await rows<{
    id: string;
    actor: string;
    subject: string | null;
    role: string | null;
    scope: string | null;
    request_id: string | null;
    at: unknown;
    data: Record<string, unknown>;
  }>(
    tx,
    sql`
      select id::text as id, actor, subject, role, scope, request_id, at, data from audit_events
      where event = ${event} and at > ${iso(from)}::timestamptz and at <= ${iso(to)}::timestamptz`,
  );
  return found.map((r) => ({
    id: r.id,
    actor: r.actor,
    subject: r.subject,
    role: r.role,
    scope: r.scope,
    requestId: r.request_id,
    at: date(r.at),
    data: r.data,
  }));
}

/** Revokes still pending after the worker raised its alert (it marks the job's payload). */
export async function alertedRevokes(tx: Executor): Promise<FailingRevokeFact[]> {
  const found = await rows<{
    subject: string | null;
    principal_id: string;
    role_key: string | null;
    role_id: string;
    scope: string;
    attempts: number;
    last_error: string | null;
  }>(
    tx,
    sql`
      select p.key as subject, j.payload->>'principalId' as principal_id, r.key as role_key,
             j.payload->>'roleId' as role_id, j.payload->>'scope' as scope, j.attempts, j.last_error
      from outbox_jobs j
      left join principals p on p.id = j.payload->>'principalId'
      left join roles r on r.id = j.payload->>'roleId'
      where j.kind = 'revoke' and j.status = 'pending' and j.payload->>'alertedAt' is not null`,
  );
  return found.map((j) => ({
    subject: j.subject ?? j.principal_id,
    role: j.role_key ?? j.role_id,
    scope: j.scope,
    attempts: Number(j.attempts),
    error: j.last_error,
  }));
}
