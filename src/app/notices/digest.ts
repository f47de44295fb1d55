/**
 * The weekly digest each PIM administrator gets: what was activated, by whom most, which alerts
 * are open and which reviews are due. One message per administrator per week, across the cluster.
 */
import type { Executor } from "../../db/client.js";
import { countOpenAlerts, mostSevereOpenAlerts } from "../../db/repos/alerts.js";
import {
  activationsPerRoleBetween,
  claimNotice,
  digestRecipients,
  topActivatorsBetween,
} from "../../db/repos/notices.js";
import { DAY } from "../../domain/duration.js";
import type { Digest } from "../../domain/notices.js";
import { person } from "../activation/views.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";
import { getCampaign, reviewerPairs, reviewsInProgress } from "../reviews/views.js";
import type { Delivery } from "./delivery.js";

export type { Digest };

export const DIGEST_PERIOD_MS = 7 * DAY;
const TOP = 5;

/** The part of the digest every administrator shares. */
async function commonFacts(db: Executor, from: Date, to: Date) {
  const byRole = await activationsPerRoleBetween(db, from, to);
  const top = await topActivatorsBetween(db, from, to, TOP);
  const newest = await mostSevereOpenAlerts(db, TOP);
  return {
    activationsByRole: byRole.map((r) => ({ roleName: r.roleName, count: Number(r.count) })),
    totalActivations: byRole.reduce((n, r) => n + Number(r.count), 0),
    topActivators: top.map((t) => ({ name: t.name, count: Number(t.count) })),
    openAlerts: await countOpenAlerts(db),
    newestAlerts: newest,
    reviews: await reviewsInProgress(db),
  };
}

/** One digest per administrator for the week ending at `to`. */
export async function buildDigests(db: Executor, to: Date): Promise<Digest[]> {
  const from = new Date(to.getTime() - DIGEST_PERIOD_MS);
  const admins = await digestRecipients(db);
  if (admins.length === 0) return [];
  const facts = await commonFacts(db, from, to);
  const mineByCampaign = new Map<string, Map<string, number>>();
  for (const { campaign } of facts.reviews) {
    const row = await getCampaign(db, campaign.id);
    if (!row) continue;
    const counts = new Map<string, number>();
    for (const p of await reviewerPairs(db, row, { users: admins.map((a) => a.id), undecidedOnly: true }))
      counts.set(p.userId, (counts.get(p.userId) ?? 0) + 1);
    mineByCampaign.set(campaign.id, counts);
  }
  return admins.map((a) => ({
    admin: person(a),
    from,
    to,
    activationsByRole: facts.activationsByRole,
    totalActivations: facts.totalActivations,
    topActivators: facts.topActivators,
    openAlerts: facts.openAlerts,
    newestAlerts: facts.newestAlerts,
    reviewsDue: facts.reviews.map(({ campaign, undecided }) => ({
      title: campaign.title,
      endsAt: campaign.endsAt,
      undecided,
      mine: mineByCampaign.get(campaign.id)?.get(a.id) ?? 0,
    })),
  }));
}

/** Sends this week's digests; a digest already sent (by this or another replica) is not sent again. */
export async function sendWeeklyDigests(deps: Pick<EngineDeps, "db" | "clock">, delivery: Delivery): Promise<number> {
  const now = deps.clock.now();
  const week = now.toISOString().slice(0, 10);
  let sent = 0;
  for (const digest of await buildDigests(deps.db, now)) {
    if (!(await claimNotice(deps.db, `digest:${digest.admin.id}:${week}`, now))) continue;
    if (await delivery.toPerson(digest.admin, { type: "digest", digest })) sent++;
  }
  return sent;
}
