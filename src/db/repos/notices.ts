/**
 * What the notices and the weekly digest read, and the claims that make a notice go out once
 * across the cluster (notices_sent: the row is the claim).
 */
import { and, eq, gt, isNotNull, isNull, lte, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { activations, holdingColumns } from "../schema/activations.js";
import { noticesSent } from "../schema/notices.js";
import { principals } from "../schema/principals.js";
import { reviewItems } from "../schema/reviews.js";
import { roles } from "../schema/roles.js";
import type { Principal } from "./directory.js";

/** Claims a notice for this process: true once per key across the cluster. */
export async function claimNotice(tx: Executor, key: string, at: Date): Promise<boolean> {
  const claimed = await tx
    .insert(noticesSent)
    .values({ key, sentAt: at })
    .onConflictDoNothing()
    .returning({ key: noticesSent.key });
  return claimed.length === 1;
}

/** Active activations ending in (from, to]. */
export async function activationsEndingBetween(
  tx: Executor,
  from: Date,
  to: Date,
): Promise<{ id: string; principalId: string; roleId: string; scope: string; endsAt: Date | null }[]> {
  return tx
    .select({
      ...holdingColumns,
      endsAt: activations.endsAt,
    })
    .from(activations)
    .where(and(eq(activations.status, "active"), gt(activations.endsAt, from), lte(activations.endsAt, to)));
}

export interface AppliedRemoval {
  principalId: string;
  holder: string;
  roleId: string;
  roleName: string;
  scope: string;
  kind: "eligible" | "active";
}

/** The assignments a review removed and whose removal was applied, by holder and role name. */
export async function appliedRemovalsOfReview(tx: Executor, campaignId: string): Promise<AppliedRemoval[]> {
  return tx
    .select({
      principalId: reviewItems.principalId,
      holder: principals.name,
      roleId: reviewItems.roleId,
      roleName: roles.name,
      scope: reviewItems.scope,
      kind: reviewItems.kind,
    })
    .from(reviewItems)
    .innerJoin(principals, eq(principals.id, reviewItems.principalId))
    .innerJoin(roles, eq(roles.id, reviewItems.roleId))
    .where(
      and(eq(reviewItems.campaignId, campaignId), eq(reviewItems.outcome, "remove"), isNotNull(reviewItems.appliedAt)),
    )
    .orderBy(principals.name, roles.name);
}

/** The administrators a digest goes to: users not retired, by key. */
export async function digestRecipients(tx: Executor): Promise<Principal[]> {
  return tx
    .select()
    .from(principals)
    .where(and(eq(principals.admin, true), eq(principals.kind, "user"), isNull(principals.retiredAt)))
    .orderBy(principals.key);
}

/** Activations granted in (from, to]. */
const inPeriod = (from: Date, to: Date) => and(gt(activations.activatedAt, from), lte(activations.activatedAt, to));

/** Activations granted in (from, to] per role, most first. */
export async function activationsPerRoleBetween(
  tx: Executor,
  from: Date,
  to: Date,
): Promise<{ roleName: string; count: number }[]> {
  return tx
    .select({ roleName: roles.name, count: sql<number>`count(*)::int` })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(inPeriod(from, to))
    .groupBy(roles.name)
    .orderBy(sql`count(*) desc`, roles.name);
}

/** The people who activated most in (from, to], at most `limit`. */
export async function topActivatorsBetween(
  tx: Executor,
  from: Date,
  to: Date,
  limit: number,
): Promise<{ name: string; count: number }[]> {
  return tx
    .select({ name: principals.name, count: sql<number>`count(*)::int` })
    .from(activations)
    .innerJoin(principals, eq(principals.id, activations.principalId))
    .where(inPeriod(from, to))
    .groupBy(principals.name)
    .orderBy(sql`count(*) desc`, principals.name)
    .limit(limit);
}
