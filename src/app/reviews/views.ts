/** Reads of access reviews for chat: reviewers' pages of items, reminders, a campaign's summary. */
import type { Executor } from "../../db/client.js";
import { principalsByIds, rolesByIds } from "../../db/repos/directory.js";
import {
  type CampaignRow,
  countUndecidedItems,
  getCampaign,
  itemsWithDecisions,
  openCampaigns,
  reviewerPairs,
  tallyItems,
} from "../../db/repos/reviews.js";
import type {
  CampaignSummary,
  ReviewCampaignView,
  ReviewItemView,
  ReviewPage,
  ReviewReminder,
} from "../../domain/review-view.js";
import { person } from "../activation/views.js";
import { chunks } from "../kernel/chunks.js";

export type { CampaignSummary, ReviewCampaignView, ReviewItemView, ReviewPage, ReviewReminder };
export { getCampaign, openCampaigns, reviewerPairs };

/** Reviewers with more items than this get batched cards; the others one card per item. */
export const SINGLE_CARDS_UP_TO = 3;
export const PAGE_SIZE = 10;

export function campaignView(row: CampaignRow): ReviewCampaignView {
  return {
    id: row.id,
    title: row.settings.title,
    definition: row.definition,
    status: row.status,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    reviewerMode: row.settings.reviewerMode,
    unanswered: row.settings.unanswered,
    inactiveDays: row.settings.inactiveDays,
    autoApply: row.settings.autoApply,
    appliedAt: row.appliedAt,
  };
}

/** Items as cards show them. */
export async function itemViews(db: Executor, ids: string[]): Promise<Map<string, ReviewItemView>> {
  const out = new Map<string, ReviewItemView>();
  for (const batch of chunks(ids, 2_000)) {
    const rows = await itemsWithDecisions(db, batch);
    const people = await principalsByIds(db, [
      ...rows.map((r) => r.item.principalId),
      ...rows.flatMap((r) => (r.decision ? [r.decision.reviewerId] : [])),
    ]);
    const roles = await rolesByIds(
      db,
      rows.map((r) => r.item.roleId),
    );
    for (const { item, decision } of rows) {
      const holder = people.get(item.principalId);
      const role = roles.get(item.roleId);
      out.set(item.id, {
        id: item.id,
        holder: {
          name: holder?.name ?? item.principalId,
          kind: holder?.kind ?? "user",
          person: holder?.kind === "user" ? person(holder) : null,
        },
        roleKey: role?.key ?? item.roleId,
        roleName: role?.name ?? item.roleId,
        scope: item.scope,
        kind: item.kind,
        assignmentEndsAt: item.assignmentEndsAt,
        lastActivatedAt: item.lastActivatedAt,
        activationCount: item.activationCount,
        recommendation: item.recommendation,
        decision: decision
          ? {
              decision: decision.decision,
              reason: decision.reason,
              by: people.get(decision.reviewerId)?.name ?? decision.reviewerId,
              at: decision.decidedAt,
            }
          : null,
        outcome: item.outcome,
      });
    }
  }
  return out;
}

/** How a reviewer's items split into messages: stable, since a campaign's items never change. */
export function paginate<T>(items: T[]): T[][] {
  const size = items.length <= SINGLE_CARDS_UP_TO ? 1 : PAGE_SIZE;
  const pages: T[][] = [];
  for (let i = 0; i < items.length; i += size) pages.push(items.slice(i, i + size));
  return pages;
}

export const pageKey = (campaignId: string, reviewerId: string, page: number) => `${campaignId}:${reviewerId}:${page}`;

/**
 * The pages of a campaign, for every reviewer or for those given; with `onlyItems`, just the
 * pages that show one of those items (what to redraw after decisions).
 */
export async function reviewPages(
  db: Executor,
  campaignId: string,
  options: { reviewers?: string[]; onlyItems?: string[] } = {},
): Promise<ReviewPage[]> {
  const campaign = await getCampaign(db, campaignId);
  if (!campaign) return [];
  let reviewers = options.reviewers;
  if (options.onlyItems && !reviewers) {
    const affected = await reviewerPairs(db, campaign, { items: options.onlyItems });
    reviewers = [...new Set(affected.map((p) => p.userId))];
  }
  const pairs = await reviewerPairs(db, campaign, { users: reviewers });
  const byReviewer = new Map<string, string[]>();
  for (const p of pairs) byReviewer.set(p.userId, [...(byReviewer.get(p.userId) ?? []), p.itemId]);
  const wanted = options.onlyItems ? new Set(options.onlyItems) : null;
  const chosen: { reviewerId: string; ids: string[]; page: number; pages: number; all: string[] }[] = [];
  for (const [reviewerId, ids] of byReviewer) {
    const pages = paginate(ids);
    pages.forEach((pageIds, i) => {
      if (!wanted || pageIds.some((id) => wanted.has(id)))
        chosen.push({ reviewerId, ids: pageIds, page: i + 1, pages: pages.length, all: ids });
    });
  }
  const views = await itemViews(db, [...new Set(chosen.flatMap((c) => c.ids))]);
  const undecided = await undecidedCounts(db, campaign, [...new Set(chosen.map((c) => c.reviewerId))]);
  const people = await principalsByIds(
    db,
    chosen.map((c) => c.reviewerId),
  );
  const view = campaignView(campaign);
  return chosen.map((c) => ({
    key: pageKey(campaign.id, c.reviewerId, c.page),
    campaign: view,
    reviewer: person(people.get(c.reviewerId)!),
    items: c.ids.map((id) => views.get(id)!).filter(Boolean),
    page: c.page,
    pages: c.pages,
    total: c.all.length,
    undecided: undecided.get(c.reviewerId) ?? 0,
  }));
}

async function undecidedCounts(db: Executor, campaign: CampaignRow, reviewers: string[]) {
  const pairs = await reviewerPairs(db, campaign, { users: reviewers, undecidedOnly: true });
  const out = new Map<string, number>();
  for (const p of pairs) out.set(p.userId, (out.get(p.userId) ?? 0) + 1);
  return out;
}

/** Reviewers with items still undecided, and how many. */
export async function undecidedByReviewer(db: Executor, campaign: CampaignRow): Promise<ReviewReminder[]> {
  const pairs = await reviewerPairs(db, campaign, { undecidedOnly: true });
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(p.userId, (counts.get(p.userId) ?? 0) + 1);
  const people = await principalsByIds(db, [...counts.keys()]);
  const view = campaignView(campaign);
  return [...counts].map(([id, n]) => ({ campaign: view, reviewer: person(people.get(id)!), undecided: n }));
}

export async function campaignSummary(db: Executor, campaignId: string): Promise<CampaignSummary | undefined> {
  const campaign = await getCampaign(db, campaignId);
  if (!campaign) return undefined;
  const rows = await tallyItems(db, campaignId);
  const sum = (pred: (r: (typeof rows)[number]) => boolean) => rows.filter(pred).reduce((n, r) => n + Number(r.n), 0);
  return {
    campaign: campaignView(campaign),
    items: sum(() => true),
    decided: sum((r) => r.decided),
    keptByDecision: sum((r) => r.outcome === "keep" && r.outcomeBy === "decision"),
    removedByDecision: sum((r) => r.outcome === "remove" && r.outcomeBy === "decision"),
    keptUnanswered: sum((r) => r.outcome === "keep" && r.outcomeBy === "unanswered"),
    removedUnanswered: sum((r) => r.outcome === "remove" && r.outcomeBy === "unanswered"),
    removedFromFile: sum((r) => r.outcome === "remove" && r.source === "file"),
    applied: campaign.appliedAt !== null,
  };
}

/** Open campaigns and the items in them still waiting, for the dashboard and the digest. */
export async function reviewsInProgress(db: Executor): Promise<{ campaign: ReviewCampaignView; undecided: number }[]> {
  const campaigns = await openCampaigns(db);
  const out: { campaign: ReviewCampaignView; undecided: number }[] = [];
  for (const c of campaigns) out.push({ campaign: campaignView(c), undecided: await countUndecidedItems(db, c.id) });
  return out;
}
