import type { Logger } from "pino";
import type { EngineDeps } from "../app/context.js";
import type { ConnectorResult } from "../connectors/connector.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import { prefetchDirectoryVersion } from "../db/repos/directory.js";
import { claimJobs, extendLeases, type JobRow } from "./outbox-claim.js";
import { type Attempt, completeAttempts, type RetryPolicy } from "./outbox-complete.js";
import { type Plan, planJobs } from "./outbox-plan.js";

export { backoffMs } from "./outbox-complete.js";

export interface OutboxWorkerOptions extends RetryPolicy {
  /** How long a claim lasts without a heartbeat; a process that dies frees its jobs after this. */
  leaseMs: number;
  /** Jobs claimed per round. */
  batchSize: number;
  /** Target calls in flight at once. */
  concurrency: number;
  /** How long a finished call may wait for others to share its completing transaction. */
  completionLingerMs: number;
}

export const DEFAULT_WORKER_OPTIONS: Omit<OutboxWorkerOptions, "workerId"> = {
  leaseMs: 30_000,
  batchSize: 500,
  concurrency: 16,
  completionLingerMs: 10,
  maxGrantAttempts: 8,
  revokeAlertAfter: 5,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  random: Math.random,
};

/**
 * Runs grant and revoke jobs from the outbox. A batch is claimed with FOR UPDATE SKIP LOCKED and
 * a lease, planned against the database as it is now, executed outside any transaction (targets
 * can be slow), and completed in transactions that also move the activations on, but only for
 * jobs this worker still owns. Completions are grouped: whatever finished while the previous
 * group was being written goes in the next, so one slow target never holds up the others.
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

  get workerId(): string {
    return this.opts.workerId;
  }

  /** What a batch of jobs created already claimed for this worker must carry (see expireAndClaimBatch). */
  get claimant(): { workerId: string; leaseMs: number } {
    return { workerId: this.opts.workerId, leaseMs: this.opts.leaseMs };
  }

  /** Claims due jobs and runs them; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const jobs = await claimJobs(this.deps.db, {
      workerId: this.opts.workerId,
      now: this.deps.clock.now(),
      leaseMs: this.opts.leaseMs,
      limit: this.opts.batchSize,
    });
    await this.runClaimed(jobs);
    return jobs.length;
  }

  /** Runs jobs this worker holds the claim of: plans them, calls the targets, records the outcomes. */
  async runClaimed(jobs: JobRow[]): Promise<void> {
    if (jobs.length === 0) return;
    const inFlight = new Set(jobs.map((j) => j.id));
    const heartbeat = setInterval(() => this.renewLeases([...inFlight]), Math.max(200, this.opts.leaseMs / 3));
    try {
      // One short transaction: its reads go out together, and names come from the kept directory.
      const plans = await this.deps.db.transaction((tx) => {
        prefetchDirectoryVersion(tx);
        return planJobs(tx, this.connectors, jobs, this.deps.clock.now());
      });
      const completions = new CompletionQueue(plans.length, this.opts.completionLingerMs, (batch) =>
        this.complete(batch, inFlight),
      );
      await runLimited(callUnits(plans), this.opts.concurrency, async (unit) => {
        const outcomes = await this.attempt(unit.map((u) => u.plan));
        for (const [i, u] of unit.entries()) completions.push({ plan: u.plan, order: u.order, ...outcomes[i]! });
      });
      await completions.idle();
    } finally {
      clearInterval(heartbeat);
    }
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

  /** Runs one call, or one batched call for several plans of the same connector and kind. */
  private async attempt(plans: Plan[]): Promise<{ outcome: ConnectorResult; skipped: boolean }[]> {
    const first = plans[0]!;
    if (plans.length === 1) {
      if (first.skip) return [{ outcome: { ok: true, detail: first.skip }, skipped: true }];
      if (first.failure) return [{ outcome: first.failure, skipped: false }];
    }
    const connector = first.connector!;
    try {
      const requests = plans.map((p) => p.request!);
      const outcomes =
        plans.length === 1
          ? [first.job.kind === "grant" ? await connector.grant(requests[0]!) : await connector.revoke(requests[0]!)]
          : first.job.kind === "grant"
            ? await connector.grantMany!(requests)
            : await connector.revokeMany!(requests);
      if (outcomes.length !== plans.length)
        throw new Error(
          `the ${connector.type} connector answered ${outcomes.length} results for ${plans.length} calls`,
        );
      return outcomes.map((outcome) => ({ outcome, skipped: false }));
    } catch (error) {
      // A connector that throws has broken its contract; its target may still come back.
      return plans.map(() => ({ outcome: { ok: false, retryable: true, error: errorText(error) }, skipped: false }));
    }
  }

  private async complete(batch: Attempt[], inFlight: Set<string>): Promise<void> {
    try {
      await completeAttempts(this.deps, this.opts, batch);
    } catch (error) {
      if (batch.length === 1) {
        this.log.error(
          { err: error, jobId: batch[0]!.plan.job.id },
          "could not record an outbox job's outcome; it runs again after its lease",
        );
      } else {
        // One bad row must not hold back the rest: record them one by one.
        for (const one of batch) await this.complete([one], inFlight);
        return;
      }
    }
    for (const a of batch) inFlight.delete(a.plan.job.id);
  }

  private renewLeases(ids: string[]): void {
    const until = new Date(this.deps.clock.now().getTime() + this.opts.leaseMs);
    extendLeases(this.deps.db, ids, this.opts.workerId, until).catch((error) =>
      this.log.warn({ err: error, jobs: ids.length }, "could not extend outbox leases"),
    );
  }
}

/**
 * Groups completions into few transactions. Once every call of the batch is in, whatever is
 * waiting is written at once; before that, a result waits at most `lingerMs` for others to join
 * it, so one slow target delays the rest by no more than that.
 */
class CompletionQueue {
  private pending: (Attempt & { order: number })[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private outstanding: number,
    private readonly lingerMs: number,
    private readonly flush: (batch: Attempt[]) => Promise<void>,
  ) {}

  push(attempt: Attempt & { order: number }): void {
    this.pending.push(attempt);
    this.outstanding--;
    this.schedule();
  }

  async idle(): Promise<void> {
    while (this.running || this.timer) await (this.running ?? new Promise((r) => setTimeout(r, this.lingerMs)));
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    if (this.outstanding <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.start();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (!this.running) this.start();
      }, this.lingerMs);
    }
  }

  private start(): void {
    this.running = (async () => {
      const batch = this.pending.sort((a, b) => a.order - b.order);
      this.pending = [];
      await this.flush(batch);
    })().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }
}

async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

const MAX_CALLS_PER_BATCH = 500;

/**
 * How a batch of plans becomes target calls: plans for a connector that takes many at once go
 * together, by kind; every other plan is a call of its own. Skips and failures need no call.
 */
function callUnits(plans: Plan[]): { plan: Plan; order: number }[][] {
  const units: { plan: Plan; order: number }[][] = [];
  const batched = new Map<unknown, Map<string, { plan: Plan; order: number }[]>>();
  plans.forEach((plan, order) => {
    const c = plan.connector;
    const many = c && !plan.skip && !plan.failure && (plan.job.kind === "grant" ? c.grantMany : c.revokeMany);
    if (!many) {
      units.push([{ plan, order }]);
      return;
    }
    const byKind = batched.get(c) ?? new Map<string, { plan: Plan; order: number }[]>();
    batched.set(c, byKind);
    const group = byKind.get(plan.job.kind) ?? [];
    byKind.set(plan.job.kind, group);
    group.push({ plan, order });
  });
  for (const byKind of batched.values())
    for (const group of byKind.values())
      for (let i = 0; i < group.length; i += MAX_CALLS_PER_BATCH) units.push(group.slice(i, i + MAX_CALLS_PER_BATCH));
  return units;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type { JobRow };
