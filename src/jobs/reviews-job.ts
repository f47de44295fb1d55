import type { Logger } from "pino";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { Delivery } from "../app/notices/delivery.js";
import { campaignsDue, claimDueReminders, closeReview } from "../app/reviews/campaigns.js";
import { sendReminders } from "../app/reviews/prompts.js";
import { declaredReviews, startDeclaredReview } from "../app/reviews/start.js";
import type { PimReview } from "../config/pim-file.js";
import { DAY, MINUTE } from "../domain/duration.js";
import { recurrenceCron } from "../domain/review-rules.js";
import type { CronCoordinator } from "./cron-coordinator.js";
import { slotsBetween } from "./cron-coordinator.js";

/** How far back a replica looks for an occurrence it has not checked yet (after a restart). */
const LOOKBACK_MS = DAY;

export interface ReviewsRun {
  started: string[];
  reminded: string[];
  closed: string[];
}

/**
 * The reviews clock, run every minute once per cluster: starts the occurrences of pim.yaml's
 * reviews that are due, sends the reminders that are due, and closes (and applies) campaigns
 * whose end has come. Prompts and summaries follow from the review.changed events those raise
 * (see ReviewRedraws). Declarations are read from the database each run, so an `apply` takes
 * effect without a restart; a start is idempotent per occurrence, whichever replica runs it.
 */
export class ReviewsJob {
  /** Per review: the instant up to which this replica has looked for occurrences. */
  private readonly checkedUntil = new Map<string, number>();

  constructor(
    private readonly deps: EngineDeps,
    private readonly delivery: Delivery,
    private readonly log: Logger,
  ) {}

  register(cron: CronCoordinator): void {
    cron.schedule("reviews", "* * * * *", () => this.run());
  }

  async run(): Promise<ReviewsRun> {
    const outcome: ReviewsRun = { started: [], reminded: [], closed: [] };
    for (const review of await declaredReviews(this.deps.db)) {
      const slot = this.dueOccurrence(review);
      if (!slot) continue;
      const started = await startDeclaredReview(this.deps, review, slot);
      if (!started) continue;
      outcome.started.push(started.campaign.id);
      this.log.info(
        { review: review.name, campaignId: started.campaign.id, items: started.items },
        "access review started",
      );
    }
    for (const campaign of await claimDueReminders(this.deps)) {
      outcome.reminded.push(campaign.id);
      await sendReminders(this.deps, this.delivery, campaign.id);
    }
    for (const id of await campaignsDue(this.deps)) {
      if (!(await closeReview(this.deps, id))) continue;
      outcome.closed.push(id);
      this.log.info({ campaignId: id }, "access review closed");
    }
    return outcome;
  }

  /**
   * The occurrence of a review that should be running now and may not have started: the latest
   * slot not after now whose review period has not ended yet.
   */
  private dueOccurrence(review: PimReview): Date | undefined {
    const now = this.deps.clock.now().getTime();
    if (review.recurrence.kind === "one-time") {
      const start = review.start!.getTime();
      return start <= now && now < start + review.durationMs ? review.start! : undefined;
    }
    const expression = recurrenceCron(review.recurrence, review.start, review.timezone)!;
    const floor = Math.max(review.start?.getTime() ?? 0, now - Math.min(review.durationMs, LOOKBACK_MS));
    const from = Math.max(floor, this.checkedUntil.get(review.name) ?? floor);
    // Slots are whole minutes; the window includes the current minute.
    const to = Math.floor(now / MINUTE) * MINUTE + 1;
    const slots = from < to ? slotsBetween(expression, new Date(from), new Date(to), review.timezone) : [];
    this.checkedUntil.set(review.name, to);
    const last = slots.at(-1);
    return last && now < last.getTime() + review.durationMs ? last : undefined;
  }
}
