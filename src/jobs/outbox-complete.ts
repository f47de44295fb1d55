import { followMemberships } from "../app/activation/group-membership.js";
import { enqueueHoldings, type HoldingJob } from "../app/activation/holding-jobs.js";
import { endUngranted } from "../app/activation/offboarding.js";
import { confirmGrants, confirmRevokes, grantFailed } from "../app/activation/target-outcomes.js";
import { type EngineDeps, inTransaction, type Work } from "../app/kernel/unit-of-work.js";
import type { ConnectorResult } from "../connectors/connector.js";
import { claimOf, failJob, finishHeldJobs, lockHeldJobs, retryJobAt } from "../db/repos/outbox-claims.js";
import { recordTargetOutcomes, type TargetOutcome } from "../db/repos/target-health.js";
import type { Plan } from "./outbox-plan.js";

export interface RetryPolicy {
  workerId: string;
  /** Grants give up (the activation fails) after this many attempts; revokes never give up. */
  maxGrantAttempts: number;
  /** A revoke still failing after this many attempts raises an alert, once. */
  revokeAlertAfter: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: () => number;
  /** A target whose calls have been failing this long raises the target_failing alert. */
  targetAlertAfterMs: number;
}

export interface Attempt {
  plan: Plan;
  outcome: ConnectorResult;
  /** No target call was needed (the holding is still needed elsewhere, or no longer wanted). */
  skipped: boolean;
  /** When the attempt began: retries are scheduled from here, however long the target took. */
  startedAt?: Date;
}

/** What a completion leaves for its worker to do next. */
export interface Completed {
  /** How many jobs were written to bring targets back in line after calls made without a valid claim. */
  reconcile: number;
  /** How many calls turned out to have been made without a valid claim. */
  late: number;
}

/** Exponential backoff with full jitter over the upper half, so retries of many jobs spread out. */
export function backoffMs(
  attempt: number,
  opts: Pick<RetryPolicy, "backoffBaseMs" | "backoffMaxMs" | "random">,
): number {
  const ceiling = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * opts.random());
}

/**
 * Records the outcome of a batch of attempts in one transaction: each job done, failed or put
 * back with a later run time, one audit event per attempt, and the activations moved on. Only
 * jobs this worker still holds the claim of (its id and the claim's token) are touched: one whose
 * lease ran out belongs to whoever took it over. A call that went out on a claim lost meanwhile
 * may have changed the target out of turn: it is audited as late, and a job that brings the
 * holding back in line with the database is written, claimed by this worker, to run at once.
 */
export async function completeAttempts(
  deps: EngineDeps,
  policy: RetryPolicy,
  attempts: Attempt[],
  context: { maybeFailing: (target: string) => boolean },
): Promise<Completed> {
  if (attempts.length === 0) return { reconcile: 0, late: 0 };
  return inTransaction(deps, async (work) => {
    const claims = (list: Attempt[]) => list.map((a) => claimOf(a.plan.job));
    const successes = attempts.filter((a) => a.outcome.ok);
    const done = new Set(await finishHeldJobs(work.tx, policy.workerId, claims(successes), work.now));
    const succeeded = successes.filter((a) => done.has(a.plan.job.id));
    for (const a of succeeded)
      auditAttempt(work, policy, a, { detail: a.outcome.ok ? (a.outcome.detail ?? null) : null });

    const failures = attempts.filter((a) => !a.outcome.ok);
    const mine = new Set<string>();
    if (failures.length > 0) {
      for (const id of await lockHeldJobs(work.tx, policy.workerId, claims(failures))) mine.add(id);
      for (const a of failures)
        if (mine.has(a.plan.job.id) && !a.outcome.ok) await recordFailure(work, policy, a, a.outcome);
    }

    const granted = succeeded.filter((a) => a.plan.job.kind === "grant" && a.plan.job.activationId);
    for (const a of granted) if (a.plan.unbacked) await endUngranted(work, a.plan.job.activationId!, a.plan.unbacked);
    await confirmGrants(
      work,
      granted.filter((a) => !a.plan.unbacked).map((a) => a.plan.job.activationId!),
    );
    const revoked = succeeded.filter((a) => a.plan.job.kind === "revoke" && a.plan.job.activationId);
    await confirmRevokes(
      work,
      revoked.map((a) => a.plan.job.activationId!),
      new Map(revoked.map((a) => [a.plan.job.activationId!, { subject: a.plan.subject, role: a.plan.roleKey }])),
    );
    await followMemberships(
      work,
      succeeded.map((a) => ({
        jobId: a.plan.job.id,
        kind: a.plan.job.kind as "grant" | "revoke",
        principalId: a.plan.payload.principalId,
        roleId: a.plan.payload.roleId,
        scope: a.plan.payload.scope,
        until: a.plan.payload.until,
        via: a.plan.job.activationId
          ? `activation ${a.plan.job.activationId}`
          : a.plan.payload.assignmentId
            ? `assignment ${a.plan.payload.assignmentId}`
            : null,
        skipped: a.skipped,
      })),
    );

    const late = attempts.filter((a) => called(a) && !done.has(a.plan.job.id) && !mine.has(a.plan.job.id));
    const reconcile = await reconcileLate(work, policy, late, "the claim was lost before the call returned");
    await recordHealth(work, policy, attempts, context.maybeFailing);
    return { reconcile, late: late.length };
  });
}

/** The attempt really called its target (rather than being skipped or refused before any call). */
const called = (a: Attempt) => !a.skipped && a.plan.connector !== undefined;

/**
 * Audits calls that went out of turn (a claim lost, or a call given up on that answered later) and
 * writes, for each holding they touched, a job that brings the target back in line with what the
 * database says must be held: after a grant, a revoke unless something holds it; after a revoke, a
 * grant if something does. Returns how many jobs were written; those due now are taken by this
 * process's worker as they are written (see enqueueHoldings).
 */
export async function reconcileLate(
  work: Work,
  policy: Pick<RetryPolicy, "workerId">,
  late: Attempt[],
  reason: string,
): Promise<number> {
  if (late.length === 0) return 0;
  const jobs: HoldingJob[] = [];
  const seen = new Set<string>();
  for (const a of late) {
    const { job, payload } = a.plan;
    auditConnector(work, policy, a, "late", {
      target: a.plan.target?.name ?? null,
      reason,
      ...(a.outcome.ok ? { detail: a.outcome.detail ?? null } : { error: a.outcome.error }),
    });
    const key = `${payload.principalId}:${payload.roleId}:${payload.scope}:${job.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    jobs.push({
      kind: job.kind === "grant" ? "revoke" : "grant",
      activationId: null,
      payload: {
        principalId: payload.principalId,
        roleId: payload.roleId,
        scope: payload.scope,
        until: null,
        reconcile: { after: job.id, worker: policy.workerId, reason },
      },
    });
  }
  return (await enqueueHoldings(work, jobs)).length;
}

/**
 * What the calls said about their targets: one that answered (even with a refusal) works; one
 * that failed in a way worth retrying is away. Crossing the alert threshold, or answering again
 * after an alert, triggers the target_failing rule at once.
 */
async function recordHealth(
  work: Work,
  policy: RetryPolicy,
  attempts: Attempt[],
  maybeFailing: (target: string) => boolean,
): Promise<void> {
  const outcomes: TargetOutcome[] = [];
  for (const a of attempts) {
    if (!called(a) || !a.plan.target) continue;
    const answered = a.outcome.ok || !a.outcome.retryable;
    outcomes.push({ target: a.plan.target.name, answered, ...(a.outcome.ok ? {} : { error: a.outcome.error }) });
  }
  if (outcomes.length === 0) return;
  const changes = await recordTargetOutcomes(work.tx, outcomes, work.now, policy.targetAlertAfterMs, maybeFailing);
  for (const target of [...changes.alerted, ...changes.recovered])
    work.emit({ type: "alert", kind: "target_failing", subject: target, detail: { target } });
}

async function recordFailure(
  work: Work,
  policy: RetryPolicy,
  a: Attempt,
  outcome: Extract<ConnectorResult, { ok: false }>,
): Promise<void> {
  const { job } = a.plan;
  const givesUp = job.kind === "grant" && (!outcome.retryable || job.attempts >= policy.maxGrantAttempts);
  if (givesUp) {
    auditAttempt(work, policy, a, { error: outcome.error, retryable: outcome.retryable, final: true });
    await failJob(work.tx, job.id, outcome.error, work.now);
    await giveUpGrant(work, a, outcome.error);
    return;
  }
  // From the attempt's start: a target that takes long to fail does not stretch the schedule.
  const from = (a.startedAt ?? work.now).getTime();
  const runAt = new Date(Math.max(work.now.getTime(), from + backoffMs(job.attempts, policy)));
  auditAttempt(work, policy, a, {
    error: outcome.error,
    retryable: outcome.retryable,
    final: false,
    nextAttemptAt: runAt.toISOString(),
  });
  const alert = job.kind === "revoke" && job.attempts >= policy.revokeAlertAfter && !job.payload.alertedAt;
  await retryJobAt(
    work.tx,
    job.id,
    runAt,
    outcome.error,
    alert ? { ...job.payload, alertedAt: work.now.toISOString() } : undefined,
  );
  if (alert) {
    work.emit({
      type: "alert",
      kind: "revoke_failing",
      subject: a.plan.subject,
      detail: {
        jobId: job.id,
        activationId: job.activationId,
        role: a.plan.roleKey,
        scope: a.plan.payload.scope,
        attempts: job.attempts,
        error: outcome.error,
      },
    });
  }
  work.emit({ type: "holding.job", jobId: job.id, runAt });
}

/**
 * A grant given up on: its activation fails (which alerts), and a revoke follows, because an
 * attempt that timed out may have taken effect on the target all the same.
 */
async function giveUpGrant(work: Work, a: Attempt, error: string): Promise<void> {
  const { job, payload } = a.plan;
  const reason = `The grant failed: ${error}`;
  if (job.activationId) await grantFailed(work, job.activationId, reason);
  else
    work.emit({
      type: "alert",
      kind: "grant_failed",
      subject: a.plan.subject,
      detail: { assignmentId: payload.assignmentId ?? null, role: a.plan.roleKey, scope: payload.scope, reason },
    });
  await enqueueHoldings(work, [
    {
      kind: "revoke",
      activationId: job.activationId,
      payload: {
        principalId: payload.principalId,
        roleId: payload.roleId,
        scope: payload.scope,
        until: null,
        ...(payload.assignmentId ? { assignmentId: payload.assignmentId } : {}),
      },
    },
  ]);
}

function auditAttempt(work: Work, policy: RetryPolicy, a: Attempt, data: Record<string, unknown>): void {
  const outcome = a.outcome.ok ? (a.skipped ? "skipped" : "succeeded") : "failed";
  auditConnector(work, policy, a, outcome, data);
}

/** `connector.<kind>.<outcome>`: what one call to a target did, with the job it ran for. */
function auditConnector(
  work: Work,
  policy: Pick<RetryPolicy, "workerId">,
  a: Attempt,
  outcome: string,
  data: Record<string, unknown>,
): void {
  const { job, payload } = a.plan;
  work.audit({
    event: `connector.${job.kind}.${outcome}`,
    actor: "system",
    subject: a.plan.subject,
    role: a.plan.roleKey,
    scope: payload.scope,
    activationId: job.activationId,
    data: {
      jobId: job.id,
      attempt: job.attempts,
      connector: a.plan.connectorType,
      worker: policy.workerId,
      ...(payload.assignmentId ? { assignmentId: payload.assignmentId } : {}),
      ...(payload.httpRequestId ? { httpRequestId: payload.httpRequestId } : {}),
      // A compensation: this job brings the target in line after another job's call went out of turn.
      ...(payload.reconcile ? { compensates: payload.reconcile.after, compensation: payload.reconcile.reason } : {}),
      ...data,
    },
  });
}
