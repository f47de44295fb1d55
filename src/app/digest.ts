/**
 * The weekly digest each PIM administrator gets: what was activated, by whom most, which alerts
 * are open and which reviews are due. One message per administrator per week, across the cluster.
 */
import { and, eq, gt, isNull, lte, ne, sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { activations } from "../db/schema/activations.js";
import { alerts } from "../db/schema/alerts.js";
import { principals } from "../db/schema/principals.js";
import { roles } from "../db/schema/roles.js";
import { DAY } from "../domain/duration.js";
import type { Digest } from "../domain/notices.js";
import { countOpenAlerts } from "./alert-records.js";
import type { EngineDeps } from "./context.js";
import type { Delivery } from "./delivery.js";
import { claimNotice } from "./notifications.js";
import { person } from "./queries.js";
import { getCampaign, reviewerPairs, reviewsInProgress } from "./review-queries.js";

export type { Digest };

export const DIGEST_PERIOD_MS = 7 * DAY;
const TOP = 5;

/** The part of the digest every administrator shares. */
async function commonFacts(db: Executor, from: Date, to: Date) {
  const inPeriod = and(gt(activations.activatedAt, from), lte(activations.activatedAt, to));
  const byRole = await db
    .select({ roleName: roles.name, count: sql<number>`count(*)::int` })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(inPeriod)
    .groupBy(roles.name)
    .orderBy(sql`count(*) desc`, roles.name);
  const top = await db
    .select({ name: principals.name, count: sql<number>`count(*)::int` })
    .from(activations)
    .innerJoin(principals, eq(principals.id, activations.principalId))
    .where(inPeriod)
    .groupBy(principals.name)
    .orderBy(sql`count(*) desc`, principals.name)
    .limit(TOP);
  const newest = await db
    .select({ title: alerts.title, severity: alerts.severity, openedAt: alerts.openedAt })
    .from(alerts)
    .where(ne(alerts.status, "resolved"))
    .orderBy(
      sql`case ${alerts.severity} when 'high' then 0 when 'medium' then 1 else 2 end`,
      sql`${alerts.openedAt} desc`,
    )
    .limit(TOP);
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
  const admins = await db
    .select()
    .from(principals)
    .where(and(eq(principals.admin, true), eq(principals.kind, "user"), isNull(principals.retiredAt)))
    .orderBy(principals.key);
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
