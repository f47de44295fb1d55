import { and, eq } from "drizzle-orm";
import { type EngineDeps, inTransaction, type Work } from "../app/context.js";
import { grantConfirmed, grantFailed } from "../app/holding-results.js";
import { newId } from "../app/ids.js";
import type { ConnectorResult } from "../connectors/connector.js";
import { enqueueHoldingJob } from "../db/repos/outbox.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { confirmRevokes } from "./activation-batch.js";
import { withBatchedAudit } from "./batch-audit.js";
import { inIds } from "./id-list.js";
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
}

export interface Attempt {
  plan: Plan;
  outcome: ConnectorResult;
  /** No target call was needed (the holding is still needed elsewhere, or no longer wanted). */
  skipped: boolean;
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
 * jobs this worker still owns are touched: one whose lease ran out belongs to whoever took it over.
 */
export async function completeAttempts(deps: EngineDeps, policy: RetryPolicy, attempts: Attempt[]): Promise<void> {
  if (attempts.length === 0) return;
  await inTransaction(deps, (unit) =>
    withBatchedAudit(unit, async (work) => {
      const ownedBy = (ids: string[]) =>
        and(inIds(outboxJobs.id, ids), eq(outboxJobs.lockedBy, policy.workerId), eq(outboxJobs.status, "pending"));
      const successes = attempts.filter((a) => a.outcome.ok);
      const done = new Set(
        successes.length === 0
          ? []
          : (
              await work.tx
                .update(outboxJobs)
                .set({ status: "done", finishedAt: work.now, lockedBy: null, lockedUntil: null, lastError: null })
                .where(ownedBy(successes.map((a) => a.plan.job.id)))
                .returning({ id: outboxJobs.id })
            ).map((r) => r.id),
      );
      const succeeded = successes.filter((a) => done.has(a.plan.job.id));
      for (const a of succeeded)
        auditAttempt(work, policy, a, { detail: a.outcome.ok ? (a.outcome.detail ?? null) : null });

      const failures = attempts.filter((a) => !a.outcome.ok);
      if (failures.length > 0) {
        const owned = await work.tx
          .select({ id: outboxJobs.id })
          .from(outboxJobs)
          .where(ownedBy(failures.map((a) => a.plan.job.id)))
          .orderBy(outboxJobs.id)
          .for("update");
        const mine = new Set(owned.map((o) => o.id));
        for (const a of failures)
          if (mine.has(a.plan.job.id) && !a.outcome.ok) await recordFailure(work, policy, a, a.outcome);
      }

      for (const a of succeeded)
        if (a.plan.job.kind === "grant" && a.plan.job.activationId) await grantConfirmed(work, a.plan.job.activationId);
      const revoked = succeeded.filter((a) => a.plan.job.kind === "revoke" && a.plan.job.activationId);
      await confirmRevokes(
        work,
        revoked.map((a) => a.plan.job.activationId!),
        new Map(revoked.map((a) => [a.plan.job.activationId!, { subject: a.plan.subject, role: a.plan.roleKey }])),
      );
    }),
  );
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
    await work.tx
      .update(outboxJobs)
      .set({ status: "failed", finishedAt: work.now, lockedBy: null, lockedUntil: null, lastError: outcome.error })
      .where(eq(outboxJobs.id, job.id));
    await giveUpGrant(work, a, outcome.error);
    return;
  }
  const runAt = new Date(work.now.getTime() + backoffMs(job.attempts, policy));
  auditAttempt(work, policy, a, {
    error: outcome.error,
    retryable: outcome.retryable,
    final: false,
    nextAttemptAt: runAt.toISOString(),
  });
  const alert = job.kind === "revoke" && job.attempts >= policy.revokeAlertAfter && !job.payload.alertedAt;
  await work.tx
    .update(outboxJobs)
    .set({
      runAt,
      lockedBy: null,
      lockedUntil: null,
      lastError: outcome.error,
      ...(alert ? { payload: { ...job.payload, alertedAt: work.now.toISOString() } } : {}),
    })
    .where(eq(outboxJobs.id, job.id));
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
  const cleanup = newId("job");
  await enqueueHoldingJob(work.tx, {
    id: cleanup,
    kind: "revoke",
    activationId: job.activationId,
    runAt: work.now,
    payload: {
      principalId: payload.principalId,
      roleId: payload.roleId,
      scope: payload.scope,
      until: null,
      ...(payload.assignmentId ? { assignmentId: payload.assignmentId } : {}),
    },
  });
  work.emit({ type: "holding.job", jobId: cleanup, runAt: work.now });
}

function auditAttempt(work: Work, policy: RetryPolicy, a: Attempt, data: Record<string, unknown>): void {
  const { job, payload } = a.plan;
  const outcome = a.outcome.ok ? (a.skipped ? "skipped" : "succeeded") : "failed";
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
      ...data,
    },
  });
}
