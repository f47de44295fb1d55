/**
 * The facts the alert rules read, one query each, as of `now`. Each rule asks only for what it
 * needs, so an event-driven evaluation of one rule costs one or two small queries.
 */
import { sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { allRoles, getSetting, resultRows } from "../db/repos/directory.js";
import { alertedTargets } from "../db/repos/target-health.js";
import {
  type ActivationCountFact,
  type AlertCondition,
  type AlertRule,
  type AlertThresholds,
  assignedOutsidePim,
  type BreakGlassUseFact,
  breakGlassUsed,
  DEFAULT_THRESHOLDS,
  type FailedGrantFact,
  type FailingRevokeFact,
  frequentActivations,
  grantsFailed,
  type HoldingFact,
  INCIDENT_WINDOW_MS,
  type LastActivationFact,
  mfaFailures,
  type RefusedApprovalFact,
  type RoleFact,
  revokesFailing,
  rolesWithoutMfa,
  staleEligibility,
  targetsFailing,
  tooManyGlobalAdmins,
  type UserFact,
  unauthorizedApprovals,
} from "../domain/alert-rules.js";
import { reachedThroughMemberships } from "../domain/group-roles.js";
import {
  type FactorChangeFact,
  type MfaLockoutFact,
  mfaFactorChanges,
  mfaLockouts,
} from "../domain/mfa-alert-rules.js";

/** The thresholds apply-config stored from pim.yaml's `alerts:`, over the documented defaults. */
export async function alertThresholds(db: Executor): Promise<AlertThresholds> {
  const stored = await getSetting<Partial<AlertThresholds>>(db, "alerts");
  return { ...DEFAULT_THRESHOLDS, ...stored };
}

const iso = (d: Date) => d.toISOString();
const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

async function rows<T>(db: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  return resultRows<T>(await db.execute(query));
}

export async function userFacts(db: Executor): Promise<UserFact[]> {
  const found = await rows<{ key: string; name: string; break_glass: boolean }>(
    db,
    sql`select key, name, break_glass from principals where kind = 'user' and retired_at is null`,
  );
  return found.map((u) => ({ key: u.key, name: u.name, breakGlass: u.break_glass }));
}

export async function roleFacts(db: Executor): Promise<RoleFact[]> {
  return (await allRoles(db)).map((r) => ({
    key: r.key,
    name: r.name,
    critical: r.critical,
    requireMfa: r.policy.activation.requireMfa,
  }));
}

/** Users and the roles they hold in force now, directly or through (nested) groups. */
export async function holdingFacts(db: Executor, now: Date): Promise<HoldingFact[]> {
  return (await principalHoldings(db, now)).users;
}

/**
 * What users hold or may reach now: their holdings, and through each membership of a privileged
 * group they hold or are eligible for (PIM for Groups), what the group itself holds.
 */
export async function reachFacts(db: Executor, now: Date): Promise<HoldingFact[]> {
  const { users, groups } = await principalHoldings(db, now);
  return [...users, ...reachedThroughMemberships(users, groups)];
}

async function principalHoldings(db: Executor, now: Date) {
  const found = await rows<{
    principal_key: string;
    principal_kind: "user" | "group";
    role_key: string;
    kind: "eligible" | "active";
    since: unknown;
  }>(
    db,
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

export async function lastActivationFacts(db: Executor, now: Date): Promise<LastActivationFact[]> {
  const found = await rows<{ user_key: string; role_key: string; at: unknown }>(
    db,
    sql`
      select p.key as user_key, r.key as role_key, max(a.activated_at) as at
      from activations a join principals p on p.id = a.principal_id join roles r on r.id = a.role_id
      where a.activated_at is not null and a.activated_at <= ${iso(now)}::timestamptz
      group by p.key, r.key`,
  );
  return found.map((a) => ({ user: a.user_key, role: a.role_key, at: date(a.at) }));
}

/** Activation counts in the window, only where they exceed the threshold (the rest cannot alert). */
export async function recentActivationFacts(
  db: Executor,
  now: Date,
  thresholds: AlertThresholds,
): Promise<ActivationCountFact[]> {
  const from = new Date(now.getTime() - thresholds.frequentActivations.windowMs);
  const found = await rows<{ user_key: string; role_key: string; n: number | string }>(
    db,
    sql`
      select p.key as user_key, r.key as role_key, count(*) as n
      from activations a join principals p on p.id = a.principal_id join roles r on r.id = a.role_id
      where a.activated_at > ${iso(from)}::timestamptz and a.activated_at <= ${iso(now)}::timestamptz
      group by p.key, r.key
      having count(*) > ${thresholds.frequentActivations.count}`,
  );
  return found.map((a) => ({ user: a.user_key, role: a.role_key, count: Number(a.n) }));
}

export async function breakGlassFacts(db: Executor, now: Date): Promise<BreakGlassUseFact[]> {
  const from = new Date(now.getTime() - INCIDENT_WINDOW_MS);
  const found = await rows<{
    id: string;
    user_key: string;
    role_key: string;
    scope: string;
    at: unknown;
    holding: boolean;
  }>(
    db,
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

/** Audit rows of one event in the incident (or a given) window. */
async function recentAudit(db: Executor, event: string, now: Date, windowMs: number = INCIDENT_WINDOW_MS) {
  const from = new Date(now.getTime() - windowMs);
  return rows<{
    id: string;
    actor: string;
    subject: string | null;
    role: string | null;
    scope: string | null;
    request_id: string | null;
    at: unknown;
    data: Record<string, unknown>;
  }>(
    db,
    sql`
      select id::text as id, actor, subject, role, scope, request_id, at, data from audit_events
      where event = ${event} and at > ${iso(from)}::timestamptz and at <= ${iso(now)}::timestamptz`,
  );
}

export async function refusedApprovalFacts(db: Executor, now: Date): Promise<RefusedApprovalFact[]> {
  // Administrative actions tried by someone who is no administrator count as unauthorized attempts too.
  const [approvals, administration] = await Promise.all([
    recentAudit(db, "approval.refused", now),
    recentAudit(db, "admin.refused", now),
  ]);
  return [...approvals, ...administration]
    .filter(
      (r) =>
        r.data.code === "NOT_AN_APPROVER" || r.data.code === "SELF_APPROVAL" || r.data.code === "NOT_ADMINISTRATOR",
    )
    .map((r) => ({
      id: `audit:${r.id}`,
      approver: r.actor,
      requester: r.subject,
      requestId: r.request_id,
      code: String(r.data.code),
      at: date(r.at),
    }));
}

export async function failedGrantFacts(db: Executor, now: Date): Promise<FailedGrantFact[]> {
  return (await recentAudit(db, "connector.grant.failed", now))
    .filter((r) => r.data.final === true)
    .map((r) => ({
      id: `audit:${r.id}`,
      subject: r.subject ?? r.actor,
      role: r.role ?? "?",
      scope: r.scope ?? "/",
      at: date(r.at),
      error: String(r.data.error ?? "unknown error"),
    }));
}

/** Revokes still pending after the worker raised its alert (it marks the job's payload). */
export async function failingRevokeFacts(db: Executor): Promise<FailingRevokeFact[]> {
  const found = await rows<{
    subject: string | null;
    principal_id: string;
    role_key: string | null;
    role_id: string;
    scope: string;
    attempts: number;
    last_error: string | null;
  }>(
    db,
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

export async function mfaFailureFacts(db: Executor, now: Date, thresholds: AlertThresholds) {
  return (await recentAudit(db, "mfa.failed", now, thresholds.mfaFailures.windowMs)).map((r) => ({
    id: `audit:${r.id}`,
    user: r.subject ?? r.actor,
    at: date(r.at),
  }));
}

export async function mfaLockoutFacts(db: Executor, now: Date): Promise<MfaLockoutFact[]> {
  return (await recentAudit(db, "mfa.locked", now)).map((r) => ({
    id: String(r.data.lockoutId ?? date(r.at).toISOString()),
    user: r.subject ?? r.actor,
    failures: Number(r.data.failures ?? 0),
    until: typeof r.data.until === "string" ? new Date(r.data.until) : date(r.at),
    at: date(r.at),
  }));
}

export async function factorChangeFacts(db: Executor, now: Date): Promise<FactorChangeFact[]> {
  const changes = ["added", "replaced", "removed"] as const;
  const found = await Promise.all(changes.map((c) => recentAudit(db, `mfa.factor_${c}`, now)));
  return changes.flatMap((change, i) =>
    found[i]!.map((r) => ({
      id: r.id,
      user: r.subject ?? r.actor,
      change,
      method: String(r.data.method ?? "?"),
      via: typeof r.data.via === "string" ? r.data.via : null,
      usableAt: typeof r.data.usableAt === "string" ? new Date(r.data.usableAt) : null,
      by: typeof r.data.by === "string" ? r.data.by : null,
      at: date(r.at),
    })),
  );
}

/** The rules evaluated on a schedule; drift findings arrive from the drift job instead. */
export const SCHEDULED_RULES: AlertRule[] = [
  "too_many_global_admins",
  "role_without_mfa",
  "stale_eligible",
  "frequent_activations",
  "break_glass_used",
  "unauthorized_approval",
  "mfa_failures",
  "mfa_locked",
  "mfa_factor_changed",
  "grant_failed",
  "revoke_failing",
  "target_failing",
];

/** The conditions of one rule that hold now. */
export async function conditionsOf(
  rule: AlertRule,
  db: Executor,
  now: Date,
  thresholds: AlertThresholds,
): Promise<AlertCondition[]> {
  switch (rule) {
    case "too_many_global_admins": {
      // People who reach a critical role through a privileged group's membership count too.
      const [users, roles, holdings] = await Promise.all([userFacts(db), roleFacts(db), reachFacts(db, now)]);
      return tooManyGlobalAdmins({ thresholds, users, roles, holdings });
    }
    case "role_without_mfa":
      return rolesWithoutMfa({ roles: await roleFacts(db) });
    case "stale_eligible": {
      const [users, roles, holdings, lastActivations] = await Promise.all([
        userFacts(db),
        roleFacts(db),
        holdingFacts(db, now),
        lastActivationFacts(db, now),
      ]);
      return staleEligibility({ now, thresholds, users, roles, holdings, lastActivations });
    }
    case "frequent_activations": {
      const [users, roles, recentActivations] = await Promise.all([
        userFacts(db),
        roleFacts(db),
        recentActivationFacts(db, now, thresholds),
      ]);
      return frequentActivations({ thresholds, users, roles, recentActivations });
    }
    case "break_glass_used":
      return breakGlassUsed({ now, uses: await breakGlassFacts(db, now) });
    case "unauthorized_approval":
      return unauthorizedApprovals({ now, refused: await refusedApprovalFacts(db, now) });
    case "mfa_failures":
      return mfaFailures({ now, thresholds, failures: await mfaFailureFacts(db, now, thresholds) });
    case "mfa_locked":
      return mfaLockouts({ now, lockouts: await mfaLockoutFacts(db, now) });
    case "mfa_factor_changed":
      return mfaFactorChanges({ now, changes: await factorChangeFacts(db, now) });
    case "grant_failed":
      return grantsFailed({ now, failed: await failedGrantFacts(db, now) });
    case "revoke_failing":
      return revokesFailing({ failing: await failingRevokeFacts(db) });
    case "target_failing":
      return targetsFailing({ now, down: await alertedTargets(db) });
    case "assigned_outside_pim":
      // Known only from what the connectors list; see syncDriftAlerts.
      return assignedOutsidePim({ unexpected: [] });
    default: {
      const never: never = rule;
      throw new Error(`unknown alert rule ${String(never)}`);
    }
  }
}
