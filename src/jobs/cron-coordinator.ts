import cron, { type RunCoordinator, type ScheduledTask, type TaskContext } from "node-cron";
import type { Logger } from "pino";
import type { Database } from "../db/client.js";
import { claimCronRun, findClaimedSlots, finishCronRun } from "../db/repos/cron-runs.js";

/** node-cron's coordination key is `<task name>:<slot as ISO 8601>`; the ISO part has a fixed length. */
const ISO_LENGTH = "2026-01-01T00:00:00.000Z".length;

function splitKey(key: string): { job: string; slot: Date } {
  return { job: key.slice(0, -(ISO_LENGTH + 1)), slot: new Date(key.slice(-ISO_LENGTH)) };
}

/**
 * Recurring jobs that must run once per cluster, through node-cron's `distributed` mode with a
 * run coordinator of our own: the first replica to insert the (job, slot) row runs the slot, every
 * other replica's insert hits the primary key and skips it. Rows stay, so runs, failures and
 * missed slots can be listed afterwards.
 */
export class CronCoordinator implements RunCoordinator {
  private readonly tasks: ScheduledTask[] = [];
  private readonly outcomes = new Map<string, { status: "succeeded" | "failed"; error: string | null }>();

  constructor(
    private readonly db: Database,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async shouldRun(key: string): Promise<boolean> {
    const { job, slot } = splitKey(key);
    return claimCronRun(this.db, { job, slot, claimedBy: this.owner, claimedAt: this.now() });
  }

  async onComplete(key: string): Promise<void> {
    const { job, slot } = splitKey(key);
    const outcome = this.outcomes.get(key) ?? { status: "succeeded" as const, error: null };
    this.outcomes.delete(key);
    await finishCronRun(
      this.db,
      { job, slot, claimedBy: this.owner },
      { finishedAt: this.now(), status: outcome.status, error: outcome.error },
    );
  }

  /** Schedules `run` on `expression` (node-cron syntax, seconds optional) to run once per slot across replicas. */
  schedule(
    name: string,
    expression: string,
    run: (slot: Date) => Promise<unknown>,
    options: { timezone?: string } = {},
  ): ScheduledTask {
    const task = cron.schedule(
      expression,
      async (ctx: TaskContext) => {
        const key = `${name}:${ctx.date.toISOString()}`;
        try {
          await run(ctx.date);
          this.outcomes.set(key, { status: "succeeded", error: null });
        } catch (error) {
          this.outcomes.set(key, { status: "failed", error: error instanceof Error ? error.message : String(error) });
          this.log.error({ err: error, job: name, slot: ctx.date }, "recurring job failed");
        }
      },
      {
        name,
        distributed: true,
        runCoordinator: this,
        noOverlap: true,
        unref: true,
        ...(options.timezone ? { timezone: options.timezone } : {}),
      },
    );
    task.on("execution:missed", (ctx) => this.log.warn({ job: name, slot: ctx.date }, "recurring job missed a slot"));
    this.tasks.push(task);
    return task;
  }

  async stop(): Promise<void> {
    for (const task of this.tasks.splice(0)) await task.destroy();
  }
}

/**
 * The slots of `expression` in [from, to) that no replica ran: every one is a slot the cluster
 * missed (all replicas down, or busy past node-cron's tolerance).
 */
export async function missedSlots(
  db: Database,
  job: string,
  expression: string,
  from: Date,
  to: Date,
  options: { timezone?: string } = {},
): Promise<Date[]> {
  const ran = await findClaimedSlots(db, job, from, to);
  const seen = new Set(ran.map((slot) => slot.getTime()));
  return slotsBetween(expression, from, to, options.timezone).filter((s) => !seen.has(s.getTime()));
}

/** Every instant in [from, to) the expression matches, at its own granularity (seconds or minutes). */
export function slotsBetween(expression: string, from: Date, to: Date, timezone?: string, limit = 100_000): Date[] {
  const hasSeconds = expression.trim().split(/\s+/).length === 6;
  const step = hasSeconds ? 1_000 : 60_000;
  const matcher = cron.createTask(expression, () => {}, timezone ? { timezone } : {});
  try {
    const out: Date[] = [];
    let t = Math.ceil(from.getTime() / step) * step;
    for (let i = 0; t < to.getTime() && i < limit; t += step, i++) {
      const at = new Date(t);
      if (matcher.match(at)) out.push(at);
    }
    return out;
  } finally {
    void matcher.destroy();
  }
}
