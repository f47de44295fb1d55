import type { Logger } from "pino";
import { expireDueActivations } from "../app/activation/expire.js";
import { timeOutDueRequests } from "../app/activation/time-out.js";
import type { EngineEvent } from "../app/kernel/events.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { JobRow } from "../db/repos/outbox.js";
import type { LocalClaims } from "../db/unit-of-work.js";
import { nextWakeAfter } from "./next-wake.js";
import type { OutboxWorker } from "./outbox-worker.js";

export interface SchedulerOptions {
  /** How often the durable sweep runs (expiry, time-outs, outbox jobs of other replicas, retries). */
  sweepIntervalMs: number;
  /** Things due within this horizon get an in-memory timer, so they happen on the second. */
  timerHorizonMs: number;
  /** Activations ended per transaction. */
  expiryBatchSize?: number;
}

/**
 * Keeps time-bound things on time. One in-memory timer points at the next thing due (an
 * activation's end, an approval deadline, a scheduled grant or revoke such as an assignment's
 * end), so it happens on the second; a durable sweep catches whatever no timer covered (another
 * replica's work, a restart), so nothing depends on this process staying up.
 */
export class Scheduler {
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt: number | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly worker: SingleFlight;
  private readonly expiry: SingleFlight;
  private readonly claimedRunner: SingleFlight;
  /** Rounds of claimed jobs running on their own (see runSoon). */
  private readonly runs = new Set<Promise<void>>();
  private sweeping: Promise<void> | undefined;
  /** Jobs written claimed by this worker, waiting for the claimed runner's next batch. */
  private claimed: JobRow[] = [];

  constructor(
    private readonly deps: EngineDeps,
    private readonly outbox: OutboxWorker,
    /** Opened for `outbox` while the scheduler runs: jobs written here meanwhile are written claimed by it. */
    private readonly claims: LocalClaims,
    private readonly log: Logger,
    private readonly opts: SchedulerOptions,
  ) {
    this.worker = new SingleFlight(
      async () => {
        // A slow target's calls finish on their own: they never hold up the next round.
        await outbox.drain(1_000, outbox.patience);
      },
      (error) => this.log.error({ err: error }, "outbox worker round failed"),
    );
    this.claimedRunner = new SingleFlight(
      async () => {
        // Stopped meanwhile: the claims run out and another worker (or this one, restarted) takes them.
        while (this.running && this.claimed.length > 0)
          await outbox.runClaimed(this.claimed.splice(0), outbox.patience);
      },
      (error) => this.log.error({ err: error }, "claimed jobs failed; they run again after their lease"),
    );
    this.expiry = new SingleFlight(
      () => this.expireAll(),
      (error) => this.log.error({ err: error }, "expiry failed; the sweep will retry"),
    );
  }

  /** Catches up on everything overdue (oldest first), then keeps sweeping. */
  async start(): Promise<void> {
    this.running = true;
    this.claims.open(this.outbox.claimant);
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    this.claims.close();
    this.running = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = undefined;
    await this.sweeping;
    await this.expiry.idle();
    await Promise.all([...this.runs]);
    await this.claimedRunner.idle();
    await this.worker.idle();
    await this.outbox.idle();
  }

  /** When the in-memory timer will next wake this scheduler, if it is armed. */
  get nextWake(): Date | undefined {
    return this.wakeAt === undefined ? undefined : new Date(this.wakeAt);
  }

  /** Engine events that need prompt work: new outbox jobs and activations that just started. */
  readonly onEvent = (event: EngineEvent): void => {
    if (!this.running) return;
    if (event.type === "holding.job") {
      if (event.claimed) this.runSoon(event.claimed);
      else if (event.runAt.getTime() <= this.deps.clock.now().getTime()) this.kickWorker();
      else this.wakeBy(event.runAt);
    }
    if (event.type === "activation.active") this.wakeBy(event.endsAt);
  };

  /** Runs the worker until it finds nothing; a kick while it runs makes it go round once more. */
  kickWorker(): void {
    this.worker.kick();
  }

  /** Ends every activation whose time is up, batch by batch, and starts their revokes at once. */
  expireNow(): Promise<void> {
    this.expiry.kick();
    return this.expiry.idle();
  }

  /** One durable pass: overdue ends and time-outs, the outbox, and the next wake-up. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const began = this.deps.clock.now();
        await this.expireNow();
        const timedOut = await timeOutDueRequests(this.deps);
        if (timedOut > 0) this.log.info({ timedOut }, "requests timed out");
        this.kickWorker();
        await this.planNextWake(began);
      } catch (error) {
        this.log.error({ err: error }, "sweep failed; it will run again");
      }
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /**
   * Ends what is due, batch by batch. Each batch's revokes are written claimed by this process's
   * worker and announced (see enqueueHoldings), so they run while the next batch is being ended.
   */
  private async expireAll(): Promise<void> {
    const batch = this.opts.expiryBatchSize ?? 500;
    let ended = 0;
    for (let n = batch; n === batch; ) {
      n = await expireDueActivations(this.deps, batch);
      ended += n;
    }
    if (ended > 0) this.log.info({ ended }, "activations expired");
  }

  /**
   * Runs jobs written claimed by this worker. Jobs written a few at a time (a click's grant) are
   * gathered like the worker's own rounds: one batch runs at a time and whatever arrives meanwhile
   * makes the next batch, so outcomes are recorded together. As many as a claim round takes at
   * once (an expiry batch's revokes) make a round of their own and start at once.
   */
  private runSoon(jobs: JobRow[]): void {
    if (jobs.length >= this.outbox.roundSize) {
      this.track(this.outbox.runClaimed(jobs));
      return;
    }
    this.claimed.push(...jobs);
    this.claimedRunner.kick();
  }

  private track(run: Promise<void>): void {
    const tracked = run
      .catch((error) => this.log.error({ err: error }, "revokes failed; they run again after their lease"))
      .finally(() => this.runs.delete(tracked));
    this.runs.add(tracked);
  }

  private wakeBy(at: Date): void {
    if (!this.running) return;
    const delay = at.getTime() - this.deps.clock.now().getTime();
    if (delay > this.opts.timerHorizonMs) return;
    if (this.wakeAt !== undefined && this.wakeAt <= at.getTime()) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at.getTime();
    this.wakeTimer = setTimeout(() => void this.wake(), Math.max(0, delay));
    this.wakeTimer.unref();
  }

  private async wake(): Promise<void> {
    this.wakeTimer = undefined;
    this.wakeAt = undefined;
    try {
      const began = this.deps.clock.now();
      await this.expireNow();
      await timeOutDueRequests(this.deps);
      this.kickWorker();
      await this.planNextWake(began);
    } catch (error) {
      this.log.error({ err: error }, "timed wake-up failed; the sweep will catch up");
    }
  }

  /**
   * Arms the timer for the first thing due after `began`, the instant the pass that handled what
   * was due started: whatever fell due while the pass ran (or was not yet due when a timer fired a
   * moment early) is after it, so it gets a timer, at once if its time has passed.
   */
  private async planNextWake(began: Date): Promise<void> {
    const next = await nextWakeAfter(this.deps.db, began);
    if (next) this.wakeBy(next);
  }
}

/** Runs a task one at a time; a kick while it runs makes it run once more afterwards. */
class SingleFlight {
  private busy: Promise<void> | undefined;
  private again = false;
  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = (async () => {
      do {
        this.again = false;
        try {
          await this.task();
        } catch (error) {
          this.onError(error);
        }
      } while (this.again);
    })().finally(() => {
      this.busy = undefined;
    });
  }

  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }
}
