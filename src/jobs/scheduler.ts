import { and, eq, gt, lte } from "drizzle-orm";
import type { Logger } from "pino";
import type { EngineDeps, EngineEvent } from "../app/context.js";
import { expireDueActivations } from "../app/end-activation.js";
import { timeOutDueRequests } from "../app/time-out.js";
import { activations } from "../db/schema/activations.js";
import type { OutboxWorker } from "./outbox-worker.js";

export interface SchedulerOptions {
  /** How often the durable sweep runs (expiry, time-outs, outbox jobs of other replicas, retries). */
  sweepIntervalMs: number;
  /** Activations ending within this horizon get an in-memory timer for to-the-second expiry. */
  timerHorizonMs: number;
}

/**
 * Keeps time-bound things on time. In-memory timers end activations on the second; a durable
 * sweep catches whatever the timers miss (another replica's activations, a restart), so nothing
 * depends on this process staying up.
 */
export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private running = false;
  private workerBusy: Promise<void> | undefined;
  private workerAgain = false;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly worker: OutboxWorker,
    private readonly log: Logger,
    private readonly opts: SchedulerOptions,
  ) {}

  /** Catches up on everything overdue (oldest first), then keeps sweeping. */
  async start(): Promise<void> {
    this.running = true;
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.sweeping;
    await this.workerBusy;
  }

  /** Engine events that need prompt work: new outbox jobs and activations that just started. */
  readonly onEvent = (event: EngineEvent): void => {
    if (!this.running) return;
    if (event.type === "holding.job") {
      const delay = event.runAt.getTime() - this.deps.clock.now().getTime();
      if (delay <= 0) this.kickWorker();
      else if (delay < this.opts.timerHorizonMs) setTimeout(() => this.kickWorker(), delay).unref();
    }
    if (event.type === "activation.active") this.armExpiry(event.activationId, event.endsAt);
  };

  /** Runs the worker until it finds nothing; a kick while it runs makes it go round once more. */
  kickWorker(): void {
    if (this.workerBusy) {
      this.workerAgain = true;
      return;
    }
    this.workerBusy = (async () => {
      do {
        this.workerAgain = false;
        try {
          await this.worker.drain();
        } catch (error) {
          this.log.error({ err: error }, "outbox worker round failed");
        }
      } while (this.workerAgain && this.running);
    })().finally(() => {
      this.workerBusy = undefined;
    });
  }

  private armExpiry(activationId: string, endsAt: Date): void {
    const delay = endsAt.getTime() - this.deps.clock.now().getTime();
    if (delay > this.opts.timerHorizonMs || this.timers.has(activationId)) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(activationId);
        void this.expireNow();
      },
      Math.max(0, delay),
    );
    timer.unref();
    this.timers.set(activationId, timer);
  }

  private async expireNow(): Promise<void> {
    try {
      if ((await expireDueActivations(this.deps)) > 0) this.kickWorker();
    } catch (error) {
      this.log.error({ err: error }, "expiry failed; the sweep will retry");
    }
  }

  /** One durable pass: overdue ends and time-outs, timers for what ends soon, and the outbox. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        let ended = 0;
        for (let n = await expireDueActivations(this.deps); n > 0; n = await expireDueActivations(this.deps))
          ended += n;
        await timeOutDueRequests(this.deps);
        const now = this.deps.clock.now();
        const soon = await this.deps.db
          .select({ id: activations.id, endsAt: activations.endsAt })
          .from(activations)
          .where(
            and(
              eq(activations.status, "active"),
              gt(activations.endsAt, now),
              lte(activations.endsAt, new Date(now.getTime() + this.opts.timerHorizonMs)),
            ),
          );
        for (const a of soon) this.armExpiry(a.id, a.endsAt!);
        if (ended > 0) this.log.info({ ended }, "ended overdue activations");
        this.kickWorker();
      } catch (error) {
        this.log.error({ err: error }, "sweep failed; it will run again");
      }
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }
}
