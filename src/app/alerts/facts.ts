/**
 * The facts the alert rules read, one query each, as of `now`. Each rule asks only for what it
 * needs, so an event-driven evaluation of one rule costs one or two small queries.
 */
import type { Executor } from "../../db/client.js";
import {
  activationCountsAbove,
  alertedRevokes,
  auditEventsBetween,
  breakGlassActivations,
  currentUsers,
  holdingsInForce,
  lastActivationTimes,
} from "../../db/repos/alert-facts.js";
import { allRoles, getSetting } from "../../db/repos/directory.js";
import { alertedTargets } from "../../db/repos/target-health.js";
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
  frequentActivations,
  grantsFailed,
  type HoldingFact,
  INCIDENT_WINDOW_MS,
  mfaFailures,
  type RefusedApprovalFact,
  type RoleFact,
  revokesFailing,
  rolesWithoutMfa,
  staleEligibility,
  targetsFailing,
  tooManyGlobalAdmins,
  unauthorizedApprovals,
} from "../../domain/alert-rules.js";
import { reachedThroughMemberships } from "../../domain/group-roles.js";
import {
  type FactorChangeFact,
  type MfaLockoutFact,
  mfaFactorChanges,
  mfaLockouts,
} from "../../domain/mfa-alert-rules.js";

/** The thresholds apply-config stored from pim.yaml's `alerts:`, over the documented defaults. */
export async function alertThresholds(db: Executor): Promise<AlertThresholds> {
  const stored = await getSetting<Partial<AlertThresholds>>(db, "alerts");
  return { ...DEFAULT_THRESHOLDS, ...stored };
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
  return (await holdingsInForce(db, now)).users;
}

/**
 * What users hold or may reach now: their holdings, and through each membership of a privileged
 * group they hold or are eligible for (PIM for Groups), what the group itself holds.
 */
export async function reachFacts(db: Executor, now: Date): Promise<HoldingFact[]> {
  const { users, groups } = await holdingsInForce(db, now);
  return [...users, ...reachedThroughMemberships(users, groups)];
}

/** Activation counts in the window, only where they exceed the threshold (the rest cannot alert). */
export async function recentActivationFacts(
  db: Executor,
  now: Date,
  thresholds: AlertThresholds,
): Promise<ActivationCountFact[]> {
  const from = new Date(now.getTime() - thresholds.frequentActivations.windowMs);
  return activationCountsAbove(db, from, now, thresholds.frequentActivations.count);
}

export async function breakGlassFacts(db: Executor, now: Date): Promise<BreakGlassUseFact[]> {
  return breakGlassActivations(db, new Date(now.getTime() - INCIDENT_WINDOW_MS), now);
}

/** Audit rows of one event in the incident (or a given) window. */
async function recentAudit(db: Executor, event: string, now: Date, windowMs: number = INCIDENT_WINDOW_MS) {
  return auditEventsBetween(db, event, new Date(now.getTime() - windowMs), now);
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
      requestId: r.requestId,
      code: String(r.data.code),
      at: r.at,
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
      at: r.at,
      error: String(r.data.error ?? "unknown error"),
    }));
}

export async function mfaFailureFacts(db: Executor, now: Date, thresholds: AlertThresholds) {
  return (await recentAudit(db, "mfa.failed", now, thresholds.mfaFailures.windowMs)).map((r) => ({
    id: `audit:${r.id}`,
    user: r.subject ?? r.actor,
    at: r.at,
  }));
}

export async function mfaLockoutFacts(db: Executor, now: Date): Promise<MfaLockoutFact[]> {
  return (await recentAudit(db, "mfa.locked", now)).map((r) => ({
    id: String(r.data.lockoutId ?? r.at.toISOString()),
    user: r.subject ?? r.actor,
    failures: Number(r.data.failures ?? 0),
    until: typeof r.data.until === "string" ? new Date(r.data.until) : r.at,
    at: r.at,
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
      at: r.at,
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
      const [users, roles, holdings] = await Promise.all([currentUsers(db), roleFacts(db), reachFacts(db, now)]);
      return tooManyGlobalAdmins({ thresholds, users, roles, holdings });
    }
    case "role_without_mfa":
      return rolesWithoutMfa({ roles: await roleFacts(db) });
    case "stale_eligible": {
      const [users, roles, holdings, lastActivations] = await Promise.all([
        currentUsers(db),
        roleFacts(db),
        holdingFacts(db, now),
        lastActivationTimes(db, now),
      ]);
      return staleEligibility({ now, thresholds, users, roles, holdings, lastActivations });
    }
    case "frequent_activations": {
      const [users, roles, recentActivations] = await Promise.all([
        currentUsers(db),
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
      return revokesFailing({ failing: await alertedRevokes(db) });
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
