import type { Logger } from "pino";
import { isTransientFailure } from "../app/kernel/transient.js";
import { type EngineDeps, inTransaction } from "../app/kernel/unit-of-work.js";
import { type ConnectorResult, retryable } from "../connectors/connector.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import type { JobRow } from "../db/repos/outbox.js";
import { type Claim, claimJobs, claimOf, releaseClaims, renewClaims } from "../db/repos/outbox-claims.js";
import { failingTargets } from "../db/repos/target-health.js";
import { type Attempt, completeAttempts, type RetryPolicy, reconcileLate } from "./outbox-complete.js";
import { type JobPayload, type Plan, planJobs } from "./outbox-plan.js";

export { backoffMs } from "./outbox-complete.js";

export interface OutboxWorkerOptions extends RetryPolicy {
  /** How long a claim lasts without a heartbeat; a process that dies frees its jobs after this. */
  leaseMs: number;
  /** Jobs claimed per round. */
  batchSize: number;
  /** Target calls in flight at once, per target: a slow target never holds up calls to the others. */
  concurrency: number;
  /** How long a finished call may wait for others to share its completing transaction. */
  completionLingerMs: number;
  /**
   * How long a scheduled round waits for its batch before the next round may claim more; calls
   * still running then (a slow target) finish on their own, and record their outcomes when they do.
   */
  patienceMs: number;
  /** Told of every grant and revoke run (for metrics). */
  observe?: (call: TargetCallFigures) => void;
}

/** What the worker reports of one grant or revoke it ran. */
export interface TargetCallFigures {
  kind: "grant" | "revoke";
  /** `skipped`: nothing had to change on the target (see the plan). */
  outcome: "ok" | "failed" | "skipped";
  /** How long the connector call took. */
  callSeconds: number;
  /** From when the change fell due (decided, or the activation's end) to its success; null otherwise. */
  dueSeconds: number | null;
}

export const DEFAULT_WORKER_OPTIONS: Omit<OutboxWorkerOptions, "workerId"> = {
  leaseMs: 30_000,
  batchSize: 500,
  concurrency: 16,
  completionLingerMs: 10,
  patienceMs: 250,
  maxGrantAttempts: 8,
  revokeAlertAfter: 5,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  random: Math.random,
  targetAlertAfterMs: 2 * 60_000,
};

/** How often the list of failing targets is read again, for completions to clear what answers again. */
const HEALTH_REFRESH_MS = 10_000;

/**
 * Runs grant and revoke jobs from the outbox. A batch is claimed with FOR UPDATE SKIP LOCKED and
 * a lease, planned against the database as it is now, executed outside any transaction (targets
 * can be slow), and completed in transactions that also move the activations on, but only for
 * jobs this worker still holds the claim of.
 *
 * Fencing: a claim is named by the worker's id and the attempt number it gave the job (its token).
 * Right before a call the worker renews the claim in the database, and gives the call up if the
 * claim is gone or its lease has run out (a process paused, a heartbeat missed); completions match
 * the token; and a call found afterwards to have gone out without the claim is audited and
 * followed at once by a job that brings the target back in line with the database.
 *
 * Isolation: every call has a deadline (per target, see ConnectorRegistry.targetOf), past which it
 * is abandoned as a retryable failure; calls wait for a slot of their own target only; and a
 * round does not wait for a slow target before the next is claimed.
 */
export class OutboxWorker {
  private readonly opts: OutboxWorkerOptions;
  private readonly lanes = new Map<unknown, Lane>();
  /** Claims this worker holds, by job id, and the time (local clock) its lease was last confirmed until. */
  private readonly claims = new Map<string, { claim: Claim; until: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Batches still finishing after their round stopped waiting for them. */
  private readonly background = new Set<Promise<void>>();
  private failing = new Set<string>();
  private failingReadAt = Number.NEGATIVE_INFINITY;

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

  /** How long a scheduled round waits for its batch (see OutboxWorkerOptions.patienceMs). */
  get patience(): { patienceMs: number } {
    return { patienceMs: this.opts.patienceMs };
  }

  /** How many jobs a claim round takes at most. */
  get roundSize(): number {
    return this.opts.batchSize;
  }

  /** Who takes the jobs written in this process while the worker runs (see LocalClaims). */
  get claimant(): { workerId: string; leaseMs: number } {
    return { workerId: this.opts.workerId, leaseMs: this.opts.leaseMs };
  }

  /**
   * Claims due jobs and runs them; returns how many were claimed. With `patienceMs`, returns once
   * the batch is done or that long has passed, whichever is first; the rest finishes on its own.
   */
  async runOnce(options: { patienceMs?: number } = {}): Promise<number> {
    const jobs = await claimJobs(this.deps.db, {
      workerId: this.opts.workerId,
      now: this.deps.clock.now(),
      leaseMs: this.opts.leaseMs,
      limit: this.opts.batchSize,
    });
    await this.runClaimed(jobs, options);
    return jobs.length;
  }

  /** Work that finishes on its own; idle() waits for it. */
  private inBackground(work: Promise<unknown>): Promise<void> {
    const tracked: Promise<void> = work
      .then(() => {})
      .catch((error) => this.log.error({ err: error }, "outbox batch failed; its jobs run again after their lease"))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
    return tracked;
  }

  /** Runs jobs this worker holds the claim of: plans them, calls the targets, records the outcomes. */
  async runClaimed(jobs: JobRow[], options: { patienceMs?: number } = {}): Promise<void> {
    if (jobs.length === 0) return;
    const run = this.runBatch(jobs);
    if (options.patienceMs === undefined) return run;
    const tracked = this.inBackground(run);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([tracked, new Promise<void>((r) => (timer = setTimeout(r, options.patienceMs)))]);
    clearTimeout(timer);
  }

  /**
   * Runs until nothing is due (used at start-up and by tests). With `patienceMs` (the scheduler),
   * calls to slow targets are left to finish on their own instead of being waited for.
   */
  async drain(maxRounds = 1_000, options: { patienceMs?: number } = {}): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxRounds; i++) {
      const n = await this.runOnce(options);
      total += n;
      if (n === 0) break;
    }
    if (options.patienceMs === undefined) await this.idle();
    return total;
  }

  /** Resolves once every batch this worker started has recorded its outcomes (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private async runBatch(jobs: JobRow[]): Promise<void> {
    this.hold(jobs);
    const inFlight = new Set(jobs.map((j) => j.id));
    try {
      const startedAt = this.deps.clock.now();
      // One short transaction: its reads go out together, and names come from the kept directory.
      const plans = await inTransaction(this.deps, (work) => planJobs(work.tx, this.connectors, jobs, startedAt));
      const completions = new CompletionQueue(plans.length, this.opts.completionLingerMs, (batch) =>
        this.complete(batch, inFlight),
      );
      const given = new Set<string>();
      await Promise.all(
        callUnits(plans).map(async (unit) => {
          const callStarted = performance.now();
          const outcomes = await this.attempt(unit.map((u) => u.plan));
          const callSeconds = (performance.now() - callStarted) / 1000;
          for (const [i, u] of unit.entries()) {
            const outcome = outcomes[i]!;
            if (outcome === "given-up") {
              given.add(u.plan.job.id);
              completions.skip();
            } else {
              completions.push({ plan: u.plan, order: u.order, startedAt, ...outcome });
              this.report(u.plan.job, outcome, callSeconds);
            }
          }
        }),
      );
      await completions.idle();
      if (given.size > 0)
        this.log.warn(
          { jobs: [...given], worker: this.opts.workerId },
          "gave up calls whose claim had run out before they started; whoever holds them now runs them",
        );
    } finally {
      this.release(jobs);
    }
  }

  private report(job: JobRow, done: { outcome: ConnectorResult; skipped: boolean }, callSeconds: number): void {
    // The inbound request that led to this call, when there was one (see src/app/kernel/request-trace.ts).
    const requestId = (job.payload as JobPayload).httpRequestId;
    const line = { requestId, jobId: job.id, kind: job.kind, activationId: job.activationId, callSeconds };
    if (done.outcome.ok) this.log.debug(line, done.skipped ? "target call not needed" : "target called");
    else this.log.warn({ ...line, error: done.outcome.error, retryable: done.outcome.retryable }, "target call failed");
    const observe = this.opts.observe;
    if (!observe || (job.kind !== "grant" && job.kind !== "revoke")) return;
    const outcome = done.skipped ? "skipped" : done.outcome.ok ? "ok" : "failed";
    const dueSeconds =
      outcome === "ok" ? (this.deps.clock.now().getTime() - new Date(job.runAt).getTime()) / 1000 : null;
    observe({ kind: job.kind, outcome, callSeconds, dueSeconds });
  }

  /**
   * Runs one call, or one batched call for several plans of the same connector and kind, in its
   * target's lane, after confirming the claims, and within the target's deadline.
   */
  private async attempt(plans: Plan[]): Promise<({ outcome: ConnectorResult; skipped: boolean } | "given-up")[]> {
    const first = plans[0]!;
    if (plans.length === 1) {
      if (first.skip) return [{ outcome: { ok: true, detail: first.skip }, skipped: true }];
      if (first.failure) return [{ outcome: first.failure, skipped: false }];
    }
    const target = first.target ?? this.connectors.targetOf(first.connector!);
    const lane = this.laneOf(first.connector);
    const admitted = await lane.enter(target.timeoutMs);
    if (!admitted) {
      const why = `not tried: no call to ${target.name} has returned for ${target.timeoutMs} ms`;
      return plans.map(() => ({ outcome: retryable(why), skipped: false }));
    }
    try {
      const held = await this.confirmClaims(plans);
      const results: ({ outcome: ConnectorResult; skipped: boolean } | "given-up")[] = plans.map(() => "given-up");
      const callable = plans.filter((p) => held.has(p.job.id));
      if (callable.length === 0) return results;
      const outcomes = await this.callWithin(callable, target.name, target.timeoutMs);
      const byId = new Map(callable.map((p, i) => [p.job.id, outcomes[i]!]));
      return plans.map((p) => {
        const outcome = byId.get(p.job.id);
        return outcome ? { outcome, skipped: false } : "given-up";
      });
    } finally {
      lane.leave();
    }
  }

  /**
   * The check right before a call: renews the claims in the database, keeping only those this
   * worker still holds with lease left. A claim the heartbeat already found lost is not asked about.
   */
  private async confirmClaims(plans: Plan[]): Promise<Set<string>> {
    const now = this.deps.clock.now();
    const asked = plans
      .filter((p) => (this.claims.get(p.job.id)?.until ?? 0) > now.getTime())
      .map((p) => claimOf(p.job));
    if (asked.length === 0) return new Set();
    const until = new Date(now.getTime() + this.opts.leaseMs);
    try {
      const held = await renewClaims(this.deps.db, this.opts.workerId, asked, until, now);
      for (const c of asked) this.noteLease(c.id, held.has(c.id) ? until.getTime() : 0);
      return held;
    } catch (error) {
      this.log.warn({ err: error }, "could not confirm outbox claims before calling a target; the calls wait");
      return new Set();
    }
  }

  /** Calls the connector, abandoning the call as a retryable failure past the deadline. */
  private async callWithin(plans: Plan[], target: string, timeoutMs: number): Promise<ConnectorResult[]> {
    const controller = new AbortController();
    const call = this.call(plans, controller.signal);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), timeoutMs);
    });
    const outcome = await Promise.race([call, deadline]);
    clearTimeout(timer);
    if (outcome !== "deadline") return outcome;
    controller.abort();
    // A call given up on may still answer; if it changed something, it did so out of turn.
    void call.then((late) => this.reconcileAbandoned(plans, late));
    return plans.map(() => retryable(`${target} did not answer within ${timeoutMs} ms; the call was abandoned`));
  }

  private async call(plans: Plan[], signal: AbortSignal): Promise<ConnectorResult[]> {
    const first = plans[0]!;
    const connector = first.connector!;
    try {
      const requests = plans.map((p) => ({ ...p.request!, signal }));
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
      return outcomes;
    } catch (error) {
      // A connector that throws has broken its contract; its target may still come back.
      return plans.map(() => retryable(errorText(error)));
    }
  }

  /** An abandoned call that succeeded after all: audited, and its holdings brought back in line. */
  private async reconcileAbandoned(plans: Plan[], late: ConnectorResult[]): Promise<void> {
    const changed: Attempt[] = plans
      .map((plan, i) => ({ plan, outcome: late[i]!, skipped: false }))
      .filter((a) => a.outcome.ok);
    if (changed.length === 0) return;
    try {
      await inTransaction(this.deps, (work) =>
        reconcileLate(work, this.opts, changed, "the call answered after its deadline"),
      );
      await this.runOnce({ patienceMs: 0 });
    } catch (error) {
      this.log.error({ err: error }, "could not reconcile after a call that answered past its deadline");
    }
  }

  private async complete(batch: Attempt[], inFlight: Set<string>): Promise<void> {
    await this.refreshFailing();
    try {
      const done = await completeAttempts(this.deps, this.opts, batch, {
        maybeFailing: (t) => this.failing.has(t),
      });
      for (const a of batch)
        if (a.plan.target && !a.outcome.ok && a.outcome.retryable && !a.skipped) this.failing.add(a.plan.target.name);
      if (done.late > 0)
        this.log.warn(
          { late: done.late, reconcile: done.reconcile, worker: this.opts.workerId },
          "calls went out after their claim was lost; the holdings are being brought back in line",
        );
      // The jobs that bring them back in line run at once: taken as written when this process's
      // scheduler runs (see enqueueHoldings), or by a claim round now.
      if (done.reconcile > 0) this.inBackground(this.runOnce({ patienceMs: 0 }));
    } catch (error) {
      if (batch.length === 1 || isTransientFailure(error)) {
        // The database away is no bad row: recording them one by one would only wait on it once
        // per job while their claims are kept alive. They run again after their lease instead.
        this.log.error(
          { err: error, jobs: batch.map((a) => a.plan.job.id) },
          "could not record outbox jobs' outcomes; they run again after their lease",
        );
      } else {
        // One bad row must not hold back the rest: record them one by one.
        for (const one of batch) await this.complete([one], inFlight);
        return;
      }
    }
    for (const a of batch) inFlight.delete(a.plan.job.id);
  }

  private async refreshFailing(): Promise<void> {
    const now = Date.now();
    if (now - this.failingReadAt < HEALTH_REFRESH_MS) return;
    this.failingReadAt = now;
    try {
      this.failing = new Set(await failingTargets(this.deps.db));
    } catch {
      // Kept as it was; the next completion asks again.
      this.failingReadAt = Number.NEGATIVE_INFINITY;
    }
  }

  private laneOf(key: unknown): Lane {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane(this.opts.concurrency);
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Starts keeping the claims of these jobs alive. */
  private hold(jobs: JobRow[]): void {
    for (const j of jobs) {
      this.claims.set(j.id, { claim: claimOf(j), until: j.lockedUntil?.getTime() ?? 0 });
    }
    this.heartbeat ??= setInterval(() => this.renewLeases(), Math.max(200, this.opts.leaseMs / 3));
    this.heartbeat.unref();
  }

  /**
   * Shutdown, once nothing runs here any more: gives back the claims this worker still holds in
   * the database (a job claimed but not started), so another replica takes them at once.
   */
  async releaseAll(): Promise<number> {
    const released = await releaseClaims(this.deps.db, this.opts.workerId);
    this.release([...this.claims.keys()].map((id) => ({ id })));
    if (released.length > 0) this.log.info({ jobs: released, worker: this.opts.workerId }, "outbox claims released");
    return released.length;
  }

  private release(jobs: readonly { id: string }[]): void {
    for (const j of jobs) this.claims.delete(j.id);
    if (this.claims.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private noteLease(id: string, until: number): void {
    const held = this.claims.get(id);
    if (held) held.until = until;
  }

  private renewLeases(): void {
    const live = [...this.claims.values()].filter((c) => c.until > 0).map((c) => c.claim);
    if (live.length === 0) return;
    const until = new Date(this.deps.clock.now().getTime() + this.opts.leaseMs);
    renewClaims(this.deps.db, this.opts.workerId, live, until).then(
      (held) => {
        for (const c of live) this.noteLease(c.id, held.has(c.id) ? until.getTime() : 0);
      },
      (error) => this.log.warn({ err: error, jobs: live.length }, "could not extend outbox leases"),
    );
  }
}

/**
 * The calls in flight to one target, at most `limit` at once. A call waiting for a slot is not
 * made at all when the target has finished no call for as long as a call may take: the calls
 * ahead of it are stuck, and it would only join them.
 */
class Lane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private progressAt = Date.now();
  constructor(private readonly limit: number) {}

  async enter(stallMs: number): Promise<boolean> {
    if (this.running < this.limit) {
      this.running++;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const go = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const check = () => {
        const stalled = Date.now() - this.progressAt;
        if (stalled < stallMs) {
          timer = setTimeout(check, stallMs - stalled);
          return;
        }
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      timer = setTimeout(check, stallMs);
      this.waiting.push(go);
    });
  }

  /** Hands the slot to the next waiting call, if any. */
  leave(): void {
    this.progressAt = Date.now();
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
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

  /** A call given up before it started: nothing to record for it. */
  skip(): void {
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
