import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type EngineDeps, inTransaction, type Work } from "../app/context.js";
import { grantConfirmed, grantFailed, revokeConfirmed } from "../app/holding-results.js";
import type { Connector, ConnectorResult } from "../connectors/connector.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import { principalById, resultRows, rolesByIds } from "../db/repos/directory.js";
import type { HoldingJobPayload } from "../db/repos/outbox.js";
import { activations } from "../db/schema/activations.js";
import { assignments } from "../db/schema/assignments.js";
import { outboxJobs } from "../db/schema/outbox.js";

export interface OutboxWorkerOptions {
  /** Identifies this process in `locked_by`. */
  workerId: string;
  /** How long a claim lasts without a heartbeat; a process that dies frees its jobs after this. */
  leaseMs: number;
  batchSize: number;
  /** Grants give up (the activation fails) after this many attempts; revokes never give up. */
  maxGrantAttempts: number;
  /** A revoke still failing after this many attempts raises an alert. */
  revokeAlertAfter: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: () => number;
}

export const DEFAULT_WORKER_OPTIONS: Omit<OutboxWorkerOptions, "workerId"> = {
  leaseMs: 30_000,
  batchSize: 32,
  maxGrantAttempts: 8,
  revokeAlertAfter: 5,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  random: Math.random,
};

type JobRow = typeof outboxJobs.$inferSelect;

/** Exponential backoff with full jitter over the upper half, so retries of many jobs spread out. */
export function backoffMs(
  attempt: number,
  opts: Pick<OutboxWorkerOptions, "backoffBaseMs" | "backoffMaxMs" | "random">,
): number {
  const ceiling = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * opts.random());
}

/**
 * Runs grant and revoke jobs from the outbox. A job is claimed with FOR UPDATE SKIP LOCKED and a
 * lease, executed outside any transaction (targets can be slow), then completed in a transaction
 * that also moves the activation on, but only if this worker still owns the claim.
 */
export class OutboxWorker {
  private readonly opts: OutboxWorkerOptions;
  constructor(
    private readonly deps: EngineDeps,
    private readonly connectors: ConnectorRegistry,
    private readonly log: Logger,
    opts: Partial<OutboxWorkerOptions> & { workerId: string },
  ) {
    this.opts = { ...DEFAULT_WORKER_OPTIONS, ...opts };
  }

  /** Claims due jobs and runs them; returns how many were run. */
  async runOnce(): Promise<number> {
    const jobs = await this.claim();
    await Promise.all(jobs.map((job) => this.run(job)));
    return jobs.length;
  }

  /** Runs until nothing is due (used at start-up and by tests). */
  async drain(maxRounds = 1_000): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxRounds; i++) {
      const n = await this.runOnce();
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  private async claim(): Promise<JobRow[]> {
    const now = this.deps.clock.now();
    const until = new Date(now.getTime() + this.opts.leaseMs);
    // One job per holding key at a time, in order: a grant is never overtaken by its own revoke.
    const result = await this.deps.db.execute(sql`
      update ${outboxJobs} set locked_by = ${this.opts.workerId}, locked_until = ${until.toISOString()}, attempts = attempts + 1
      where id in (
        select j.id from ${outboxJobs} j
        where j.status = 'pending' and j.run_at <= ${now.toISOString()} and (j.locked_until is null or j.locked_until < ${now.toISOString()})
          and not exists (
            select 1 from ${outboxJobs} e
            where e.key = j.key and e.status = 'pending' and e.id <> j.id
              and (e.run_at, e.created_at, e.id) < (j.run_at, j.created_at, j.id))
        order by j.run_at, j.created_at
        limit ${this.opts.batchSize}
        for update skip locked)
      returning *`);
    return resultRows<Record<string, unknown>>(result).map(fromRaw);
  }

  private async run(job: JobRow): Promise<void> {
    const heartbeat = setInterval(() => void this.extendLease(job.id), Math.max(1_000, this.opts.leaseMs / 3));
    try {
      const target = await this.describe(job);
      const outcome = target.skip
        ? ({ ok: true, detail: target.skip } as ConnectorResult)
        : await this.attempt(target.connector!, job, target.request!);
      await this.complete(job, outcome, target.skip !== undefined);
    } catch (error) {
      this.log.error({ err: error, jobId: job.id }, "outbox job crashed; it will be retried");
      await this.complete(job, { ok: false, retryable: true, error: errorText(error) }, false).catch((e) =>
        this.log.error({ err: e, jobId: job.id }, "could not record the failure of an outbox job"),
      );
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async attempt(
    connector: Connector,
    job: JobRow,
    request: Parameters<Connector["grant"]>[0],
  ): Promise<ConnectorResult> {
    try {
      return job.kind === "grant" ? await connector.grant(request) : await connector.revoke(request);
    } catch (error) {
      return { ok: false, retryable: true, error: errorText(error) };
    }
  }

  /** Works out the target call, or why none is needed (a revoke of something still held for another reason). */
  private async describe(job: JobRow) {
    const p = job.payload as HoldingJobPayload & { assignmentId?: string };
    const db = this.deps.db;
    const principal = await principalById(db, p.principalId);
    const role = (await rolesByIds(db, [p.roleId])).get(p.roleId);
    if (!principal || !role) return { skip: "principal or role no longer exists" };
    if (job.kind === "revoke") {
      const reason = await stillHeldBy(this.deps, p, job.activationId);
      if (reason) return { skip: `still held: ${reason}` };
    }
    const request = {
      login: principal.key,
      principalKey: principal.key,
      roleKey: role.key,
      scope: p.scope,
      until: p.until ? new Date(p.until) : null,
      activationId: job.activationId,
      idempotencyKey: job.id,
    };
    return { connector: this.connectors.forRole(role), request };
  }

  private async complete(job: JobRow, outcome: ConnectorResult, skipped: boolean): Promise<void> {
    await inTransaction(this.deps, async (work) => {
      const [owned] = await work.tx
        .select()
        .from(outboxJobs)
        .where(
          and(eq(outboxJobs.id, job.id), eq(outboxJobs.lockedBy, this.opts.workerId), eq(outboxJobs.status, "pending")),
        )
        .for("update");
      if (!owned) return; // The lease ran out and another worker took the job over.
      const p = job.payload as HoldingJobPayload;
      const subject = (await principalById(work.tx, p.principalId))?.key ?? p.principalId;
      const roleKey = (await rolesByIds(work.tx, [p.roleId])).get(p.roleId)?.key ?? p.roleId;
      const audit = (event: string, data: Record<string, unknown>) =>
        work.audit({
          event,
          actor: "system",
          subject,
          role: roleKey,
          scope: p.scope,
          activationId: job.activationId,
          data: { jobId: job.id, attempt: job.attempts, ...data },
        });

      if (outcome.ok) {
        await work.tx
          .update(outboxJobs)
          .set({ status: "done", finishedAt: work.now, lockedBy: null, lockedUntil: null, lastError: null })
          .where(eq(outboxJobs.id, job.id));
        audit(`connector.${job.kind}.${skipped ? "skipped" : "succeeded"}`, { detail: outcome.detail ?? null });
        await this.advanceActivation(work, job, true, "");
        return;
      }
      const givesUp = job.kind === "grant" && (!outcome.retryable || job.attempts >= this.opts.maxGrantAttempts);
      audit(`connector.${job.kind}.failed`, { error: outcome.error, retryable: outcome.retryable, final: givesUp });
      if (givesUp) {
        await work.tx
          .update(outboxJobs)
          .set({ status: "failed", finishedAt: work.now, lockedBy: null, lockedUntil: null, lastError: outcome.error })
          .where(eq(outboxJobs.id, job.id));
        await this.advanceActivation(work, job, false, outcome.error);
        return;
      }
      const runAt = new Date(work.now.getTime() + backoffMs(job.attempts, this.opts));
      await work.tx
        .update(outboxJobs)
        .set({ runAt, lockedBy: null, lockedUntil: null, lastError: outcome.error })
        .where(eq(outboxJobs.id, job.id));
      if (job.kind === "revoke" && job.attempts === this.opts.revokeAlertAfter) {
        work.emit({
          type: "alert",
          kind: "revoke_failing",
          subject,
          detail: { jobId: job.id, role: roleKey, scope: p.scope, error: outcome.error },
        });
      }
      work.emit({ type: "holding.job", jobId: job.id, runAt });
    });
  }

  private async advanceActivation(work: Work, job: JobRow, succeeded: boolean, error: string) {
    if (!job.activationId) return;
    if (job.kind === "grant") {
      if (succeeded) await grantConfirmed(work, job.activationId);
      else await grantFailed(work, job.activationId, `The grant failed: ${error}`);
    } else if (succeeded) {
      await revokeConfirmed(work, job.activationId);
    }
  }

  private async extendLease(jobId: string) {
    const until = new Date(this.deps.clock.now().getTime() + this.opts.leaseMs);
    await this.deps.db
      .update(outboxJobs)
      .set({ lockedUntil: until })
      .where(and(eq(outboxJobs.id, jobId), eq(outboxJobs.lockedBy, this.opts.workerId)))
      .catch((error) => this.log.warn({ err: error, jobId }, "could not extend an outbox lease"));
  }
}

/**
 * Reference counting of holdings: a revoke is skipped while any other reason to hold the same
 * role at the same scope remains (another activation, or an active assignment in force).
 */
export async function stillHeldBy(
  deps: EngineDeps,
  p: HoldingJobPayload,
  exceptActivationId: string | null,
): Promise<string | undefined> {
  const now = deps.clock.now();
  const [other] = await deps.db
    .select({ id: activations.id })
    .from(activations)
    .where(
      and(
        eq(activations.principalId, p.principalId),
        eq(activations.roleId, p.roleId),
        eq(activations.scope, p.scope),
        sql`${activations.status} in ('activating', 'active')`,
        exceptActivationId ? sql`${activations.id} <> ${exceptActivationId}` : undefined,
      ),
    )
    .limit(1);
  if (other) return `activation ${other.id}`;
  const [assignment] = await deps.db
    .select({ id: assignments.id })
    .from(assignments)
    .where(
      and(
        eq(assignments.principalId, p.principalId),
        eq(assignments.roleId, p.roleId),
        eq(assignments.scope, p.scope),
        eq(assignments.kind, "active"),
        sql`(${assignments.startsAt} is null or ${assignments.startsAt} <= ${now.toISOString()})`,
        sql`(${assignments.endsAt} is null or ${assignments.endsAt} > ${now.toISOString()})`,
      ),
    )
    .limit(1);
  return assignment ? `active assignment ${assignment.id}` : undefined;
}

function fromRaw(r: Record<string, unknown>): JobRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
  return {
    id: String(r.id),
    kind: String(r.kind),
    key: String(r.key),
    activationId: (r.activation_id as string | null) ?? null,
    payload: (typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
    status: r.status as JobRow["status"],
    attempts: Number(r.attempts),
    runAt: date(r.run_at)!,
    lockedUntil: date(r.locked_until),
    lockedBy: (r.locked_by as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: date(r.created_at)!,
    finishedAt: date(r.finished_at),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
