/**
 * What reviewers and the alert channel are told about a campaign, through the Delivery port:
 * the prompts when it starts (redrawn in place as decisions come in), reminders before the end,
 * and the summary when it closes.
 */

import type { EngineEvent } from "../kernel/events.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";
import { notifyReviewRemovals } from "../notices/activity.js";
import type { Delivery } from "../notices/delivery.js";
import { campaignSummary, getCampaign, type ReviewPage, reviewPages, undecidedByReviewer } from "./views.js";

const promptKey = (page: ReviewPage) => ({ subjectId: page.key, kind: "review" });

/** Posts (or redraws) every reviewer's pages of a campaign; returns how many reached someone. */
export async function sendPrompts(
  deps: Pick<EngineDeps, "db">,
  delivery: Delivery,
  campaignId: string,
  options: { reviewers?: string[]; onlyItems?: string[] } = {},
): Promise<number> {
  let reached = 0;
  for (const page of await reviewPages(deps.db, campaignId, options))
    if (await delivery.toPerson(page.reviewer, { type: "review.prompt", page }, promptKey(page))) reached++;
  return reached;
}

/** Reminds each reviewer who still has undecided items in this campaign. */
export async function sendReminders(
  deps: Pick<EngineDeps, "db">,
  delivery: Delivery,
  campaignId: string,
): Promise<number> {
  const campaign = await getCampaign(deps.db, campaignId);
  if (!campaign) return 0;
  let reached = 0;
  for (const reminder of await undecidedByReviewer(deps.db, campaign))
    if (await delivery.toPerson(reminder.reviewer, { type: "review.reminder", reminder })) reached++;
  return reached;
}

/** The summary in the alert channel (redrawn once applied), and every prompt redrawn as closed. */
export async function announceClosed(
  deps: Pick<EngineDeps, "db" | "clock">,
  delivery: Delivery,
  campaignId: string,
): Promise<void> {
  const summary = await campaignSummary(deps.db, campaignId);
  if (!summary) return;
  await delivery.toAlertChannel({ type: "review.summary", summary }, { subjectId: campaignId, kind: "review_summary" });
  await sendPrompts(deps, delivery, campaignId);
  if (summary.applied) await notifyReviewRemovals(deps, delivery, campaignId);
}

/**
 * Keeps a campaign's messages true to the database as review.changed events arrive: prompts when
 * it starts, the cards showing items just decided (so every reviewer of an item sees who decided
 * what), and the summary and closed prompts when it closes or is applied. Work for one campaign
 * runs one step at a time; decisions arriving meanwhile are coalesced into the next redraw.
 */
export class ReviewRedraws {
  private readonly queues = new Map<string, { done: Promise<void>; steps: Step[] }>();

  constructor(
    private readonly deps: Pick<EngineDeps, "db" | "clock">,
    private readonly delivery: Delivery,
    private readonly onError: (error: unknown) => void,
  ) {}

  readonly onEvent = (event: EngineEvent): void => {
    if (event.type !== "review.changed") return;
    const step: Step = event.change === "decided" ? { items: new Set(event.itemIds) } : { change: event.change };
    const queued = this.queues.get(event.campaignId);
    if (queued) {
      const last = queued.steps.at(-1);
      if (last && "items" in last && "items" in step) for (const id of step.items) last.items.add(id);
      else if (!(last && "change" in last && "change" in step && last.change !== "started")) queued.steps.push(step);
      return;
    }
    const entry = { done: Promise.resolve(), steps: [step] };
    entry.done = (async () => {
      for (let next = entry.steps.shift(); next; next = entry.steps.shift()) {
        try {
          await this.perform(event.campaignId, next);
        } catch (error) {
          this.onError(error);
        }
      }
    })().finally(() => this.queues.delete(event.campaignId));
    this.queues.set(event.campaignId, entry);
  };

  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()].map((q) => q.done));
  }

  private async perform(campaignId: string, step: Step): Promise<void> {
    if ("items" in step) await sendPrompts(this.deps, this.delivery, campaignId, { onlyItems: [...step.items] });
    else if (step.change === "started") await sendPrompts(this.deps, this.delivery, campaignId);
    else await announceClosed(this.deps, this.delivery, campaignId);
  }
}

type Step = { items: Set<string> } | { change: "started" | "closed" | "applied" };
