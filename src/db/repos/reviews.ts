/**
 * Access reviews: campaigns, the items they snapshot, reviewers' decisions, the removals a
 * campaign carries out, and the reads its cards and reports are drawn from. A campaign of 50,000
 * items is written in a few statements: rows travel as one JSON parameter per batch.
 */
import { and, count, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { ReviewSettings } from "../../domain/review-rules.js";
import { type Executor, resultRows } from "../client.js";
import { inIds } from "../id-list.js";
import { principals } from "../schema/principals.js";
import { reviewCampaigns, reviewDecisions, reviewItems } from "../schema/reviews.js";
import { roles } from "../schema/roles.js";

export type CampaignRow = typeof reviewCampaigns.$inferSelect;
export type NewCampaign = typeof reviewCampaigns.$inferInsert;
export type ReviewItemRow = typeof reviewItems.$inferSelect;
export type ReviewDecisionRow = typeof reviewDecisions.$inferSelect;
/** An item as a campaign's start writes it: no outcome yet. */
export type NewReviewItem = Omit<ReviewItemRow, "outcome" | "outcomeBy" | "appliedAt">;

/** `column in (…)`, true when no list is given, false for an empty one. */
function oneOf(column: SQL, values: readonly string[] | undefined): SQL {
  if (values === undefined) return sql`true`;
  if (values.length === 0) return sql`false`;
  return sql`${column} in (${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )})`;
}

const asDate = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

// ── campaigns ──────────────────────────────────────────────────────────────────────────────

/** Inserts a campaign; undefined when its occurrence already has one (another replica, a retry). */
export async function insertCampaign(tx: Executor, campaign: NewCampaign): Promise<CampaignRow | undefined> {
  const [row] = await tx.insert(reviewCampaigns).values(campaign).onConflictDoNothing().returning();
  return row;
}

export async function getCampaign(tx: Executor, id: string): Promise<CampaignRow | undefined> {
  const [row] = await tx.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, id));
  return row;
}

/** A campaign, locked until the transaction ends (closing and applying take turns). */
export async function lockCampaign(tx: Executor, id: string): Promise<CampaignRow | undefined> {
  const [row] = await tx.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, id)).for("update");
  return row;
}

/** Campaigns by id, share-locked so that none closes while decisions on it are written. */
export async function lockCampaignsForShare(tx: Executor, ids: string[]): Promise<Map<string, CampaignRow>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.select().from(reviewCampaigns).where(inArray(reviewCampaigns.id, ids)).for("share");
  return new Map(rows.map((r) => [r.id, r]));
}

/** Open campaigns, the soonest to end first. */
export async function openCampaigns(tx: Executor): Promise<CampaignRow[]> {
  return tx.select().from(reviewCampaigns).where(eq(reviewCampaigns.status, "open")).orderBy(reviewCampaigns.endsAt);
}

/** Ids of the campaigns still open whose end is at or before `now`. */
export async function openCampaignIdsEndedBy(tx: Executor, now: Date): Promise<string[]> {
  const rows = await tx
    .select({ id: reviewCampaigns.id })
    .from(reviewCampaigns)
    .where(
      and(eq(reviewCampaigns.status, "open"), sql`${reviewCampaigns.endsAt} <= ${now.toISOString()}::timestamptz`),
    );
  return rows.map((r) => r.id);
}

/**
 * Records reminders as sent, a compare-and-set on the list sent before: undefined when the
 * campaign closed or another replica recorded them first.
 */
export async function recordRemindersSent(
  tx: Executor,
  id: string,
  sentBefore: number[],
  sentNow: number[],
): Promise<CampaignRow | undefined> {
  const [row] = await tx
    .update(reviewCampaigns)
    .set({ remindersSent: sentNow })
    .where(
      and(
        eq(reviewCampaigns.id, id),
        eq(reviewCampaigns.status, "open"),
        sql`${reviewCampaigns.remindersSent} = ${JSON.stringify(sentBefore)}::jsonb`,
      ),
    )
    .returning();
  return row;
}

export async function markCampaignClosed(tx: Executor, id: string, at: Date): Promise<CampaignRow | undefined> {
  const [row] = await tx
    .update(reviewCampaigns)
    .set({ status: "closed", closedAt: at })
    .where(eq(reviewCampaigns.id, id))
    .returning();
  return row;
}

export async function setCampaignSummary(tx: Executor, id: string, summary: Record<string, number>): Promise<void> {
  await tx.update(reviewCampaigns).set({ summary }).where(eq(reviewCampaigns.id, id));
}

export async function markCampaignApplied(tx: Executor, id: string, at: Date, by: string): Promise<void> {
  await tx.update(reviewCampaigns).set({ appliedAt: at, appliedBy: by }).where(eq(reviewCampaigns.id, id));
}

// ── items ──────────────────────────────────────────────────────────────────────────────────

/** An assignment in force within a review's scope, with its holder and its use of the role. */
export interface ReviewCandidate {
  assignmentId: string;
  principalId: string;
  roleId: string;
  scope: string;
  kind: "eligible" | "active";
  endsAt: Date | null;
  source: string;
  /** When the holder first had the assignment. */
  since: Date;
  holderKind: "user" | "group";
  managerId: string | null;
  lastActivatedAt: Date | null;
  /** Activations after `activeSince`. */
  activationCount: number;
}

/**
 * Every assignment of the settings' roles or groups and kinds in force at `now`, on a role not
 * retired, by assignment id. Usage counts activations by the holder, or by any (nested) member of
 * a holding group, of the same role at or below the assignment's scope.
 */
export async function findReviewCandidates(
  tx: Executor,
  settings: Pick<ReviewSettings, "roleIds" | "groupIds" | "kinds">,
  now: Date,
  activeSince: Date,
): Promise<ReviewCandidate[]> {
  const at = now.toISOString();
  const cutoff = activeSince.toISOString();
  const rows = resultRows<{
    id: string;
    principal_id: string;
    role_id: string;
    scope: string;
    kind: "eligible" | "active";
    ends_at: unknown;
    source: string;
    since: unknown;
    holder_kind: "user" | "group";
    manager_id: string | null;
    last: unknown;
    n: number | string;
  }>(
    await tx.execute(sql`
      with recursive
        members(group_id, member_id) as (
          select group_id, member_id from group_members where relation = 'member'
          union
          select m.group_id, gm.member_id from members m
            join group_members gm on gm.group_id = m.member_id and gm.relation = 'member'
        ),
        scoped as (
          select a.id, a.principal_id, a.role_id, a.scope, a.kind, a.ends_at, a.source,
                 coalesce(a.starts_at, a.created_at) as since
          from assignments a join roles r on r.id = a.role_id and r.retired_at is null
          where (${oneOf(sql`a.role_id`, settings.roleIds)} or ${oneOf(sql`a.principal_id`, settings.groupIds)})
            and ${oneOf(sql`a.kind`, settings.kinds)}
            and (a.starts_at is null or a.starts_at <= ${at}::timestamptz)
            and (a.ends_at is null or a.ends_at > ${at}::timestamptz)
        ),
        usage as (
          select s.id, max(act.activated_at) as last,
                 count(act.activated_at) filter (where act.activated_at > ${cutoff}::timestamptz) as n
          from scoped s
          left join members m on m.group_id = s.principal_id
          join activations act on act.principal_id = coalesce(m.member_id, s.principal_id)
            and act.role_id = s.role_id and act.activated_at is not null
            and act.activated_at <= ${at}::timestamptz
            and (s.scope = '/' or act.scope = s.scope or act.scope like s.scope || '/%')
          group by s.id
        )
      select s.*, p.kind as holder_kind, p.manager_id, u.last, coalesce(u.n, 0) as n
      from scoped s join principals p on p.id = s.principal_id
      left join usage u on u.id = s.id
      order by s.id`),
  );
  return rows.map((c) => ({
    assignmentId: c.id,
    principalId: c.principal_id,
    roleId: c.role_id,
    scope: c.scope,
    kind: c.kind,
    endsAt: asDate(c.ends_at),
    source: c.source,
    since: asDate(c.since)!,
    holderKind: c.holder_kind,
    managerId: c.manager_id,
    lastActivatedAt: asDate(c.last),
    activationCount: Number(c.n),
  }));
}

/** Inserts items in one statement, whatever their number (callers keep a batch to about 10,000). */
export async function insertReviewItems(tx: Executor, items: NewReviewItem[]): Promise<void> {
  await tx.execute(sql`
    insert into review_items (id, campaign_id, assignment_id, principal_id, role_id, scope, kind, source,
      assignment_ends_at, since, last_activated_at, activation_count, recommendation, reviewers)
    select id, "campaignId", "assignmentId", "principalId", "roleId", scope, kind, source,
      "assignmentEndsAt", since, "lastActivatedAt", "activationCount", recommendation, reviewers
    from json_to_recordset(${JSON.stringify(items)}::json) as x(id text, "campaignId" text, "assignmentId" text,
      "principalId" text, "roleId" text, scope text, kind text, source text, "assignmentEndsAt" timestamptz,
      since timestamptz, "lastActivatedAt" timestamptz, "activationCount" int, recommendation text, reviewers text[])`);
}

/** An item with the keys of its holder and role, as audit rows name them. */
export type DecisionItem = Pick<
  ReviewItemRow,
  "id" | "campaignId" | "principalId" | "roleId" | "scope" | "reviewers"
> & {
  principalKey: string;
  roleKey: string;
};

/** Items by id, with their holder's and role's keys, in one statement. */
export async function itemsWithKeys(tx: Executor, ids: string[]): Promise<Map<string, DecisionItem>> {
  const rows = await tx
    .select({
      id: reviewItems.id,
      campaignId: reviewItems.campaignId,
      principalId: reviewItems.principalId,
      roleId: reviewItems.roleId,
      scope: reviewItems.scope,
      reviewers: reviewItems.reviewers,
      principalKey: principals.key,
      roleKey: roles.key,
    })
    .from(reviewItems)
    .innerJoin(principals, eq(principals.id, reviewItems.principalId))
    .innerJoin(roles, eq(roles.id, reviewItems.roleId))
    .where(inIds(reviewItems.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Each item's outcome becomes its decision or, unanswered, what `unanswered` says (the same rule
 * as the domain's outcomeOf, in one statement); `appliedAt` marks them applied in the same pass.
 */
export async function settleItemOutcomes(
  tx: Executor,
  campaignId: string,
  unanswered: ReviewSettings["unanswered"],
  appliedAt: Date | null,
): Promise<void> {
  const applied = appliedAt ? appliedAt.toISOString() : null;
  await tx.execute(sql`
    update review_items i
    set outcome = coalesce(x.decision, case ${unanswered} when 'recommendation' then i.recommendation else ${unanswered} end),
        outcome_by = case when x.decision is null then 'unanswered' else 'decision' end,
        applied_at = ${applied}::timestamptz
    from (select i2.id, d.decision from review_items i2 left join review_decisions d on d.item_id = i2.id
          where i2.campaign_id = ${campaignId}) x
    where i.id = x.id`);
}

/** A campaign's items by outcome and what decided it: `{ items, <outcome>_<outcomeBy>: n }`. */
export async function countOutcomes(tx: Executor, campaignId: string): Promise<Record<string, number>> {
  const rows = resultRows<{ outcome: string; outcome_by: string; n: number | string }>(
    await tx.execute(sql`
      select outcome, outcome_by, count(*) as n from review_items where campaign_id = ${campaignId}
      group by outcome, outcome_by`),
  );
  const out: Record<string, number> = { items: 0 };
  for (const r of rows) {
    out.items! += Number(r.n);
    out[`${r.outcome}_${r.outcome_by}`] = Number(r.n);
  }
  return out;
}

/** Marks the campaign's items not yet applied as applied. */
export async function markItemsApplied(tx: Executor, campaignId: string, at: Date): Promise<void> {
  await tx
    .update(reviewItems)
    .set({ appliedAt: at })
    .where(and(eq(reviewItems.campaignId, campaignId), isNull(reviewItems.appliedAt)));
}

// ── decisions ──────────────────────────────────────────────────────────────────────────────

export interface NewDecision {
  itemId: string;
  campaignId: string;
  reviewerId: string;
  decision: "keep" | "remove";
  reason: string | null;
}

/** Writes decisions in one statement, replacing any earlier decision on the same items. */
export async function saveDecisions(tx: Executor, decisions: NewDecision[], at: Date): Promise<void> {
  await tx.execute(sql`
    insert into review_decisions (item_id, campaign_id, reviewer_id, decision, reason, decided_at)
    select "itemId", "campaignId", "reviewerId", decision, reason, ${at.toISOString()}::timestamptz
    from json_to_recordset(${JSON.stringify(decisions)}::json)
      as x("itemId" text, "campaignId" text, "reviewerId" text, decision text, reason text)
    on conflict (item_id) do update set decision = excluded.decision, reason = excluded.reason,
      reviewer_id = excluded.reviewer_id, decided_at = excluded.decided_at`);
}

// ── removals ───────────────────────────────────────────────────────────────────────────────

export interface RemovedAssignment {
  id: string;
  itemId: string;
  principalId: string;
  principalKey: string;
  roleId: string;
  roleKey: string;
  scope: string;
  kind: "eligible" | "active";
  startsAt: Date | null;
  source: string;
  outcomeBy: string;
}

/** Deletes every assignment whose item's outcome is `remove`, in one statement, and returns them. */
export async function deleteRemovedAssignments(tx: Executor, campaignId: string): Promise<RemovedAssignment[]> {
  const rows = resultRows<{
    id: string;
    item_id: string;
    principal_id: string;
    principal_key: string;
    role_id: string;
    role_key: string;
    scope: string;
    kind: "eligible" | "active";
    starts_at: unknown;
    source: string;
    outcome_by: string;
  }>(
    await tx.execute(sql`
      with removed as (
        delete from assignments a using review_items i
        where i.campaign_id = ${campaignId} and i.outcome = 'remove' and a.id = i.assignment_id
        returning a.id, i.id as item_id, a.principal_id, a.role_id, a.scope, a.kind, a.starts_at, a.source, i.outcome_by
      )
      select removed.*, p.key as principal_key, r.key as role_key
      from removed join principals p on p.id = removed.principal_id join roles r on r.id = removed.role_id`),
  );
  return rows.map((r) => ({
    id: r.id,
    itemId: r.item_id,
    principalId: r.principal_id,
    principalKey: r.principal_key,
    roleId: r.role_id,
    roleKey: r.role_key,
    scope: r.scope,
    kind: r.kind,
    startsAt: r.starts_at === null ? null : new Date(r.starts_at as string | Date),
    source: r.source,
    outcomeBy: r.outcome_by,
  }));
}

/** Cancels the grants and scheduled revokes still queued for the assignments the campaign removes. */
export async function cancelJobsOfRemovedAssignments(tx: Executor, campaignId: string): Promise<void> {
  await tx.execute(sql`
    update outbox_jobs set status = 'canceled'
    where status = 'pending' and activation_id is null and payload->>'assignmentId' in (
      select assignment_id from review_items where campaign_id = ${campaignId} and outcome = 'remove')`);
}

// ── reads for cards and reports ────────────────────────────────────────────────────────────

/**
 * Which users review which items: reviewer groups expanded to their (nested) members, and,
 * unless the campaign is a self-review, no user paired with an assignment they hold themselves
 * or through a group. Ordered by reviewer, then item.
 */
export async function reviewerPairs(
  tx: Executor,
  campaign: Pick<CampaignRow, "id" | "settings">,
  options: { users?: string[]; items?: string[]; undecidedOnly?: boolean } = {},
): Promise<{ itemId: string; userId: string }[]> {
  const self = campaign.settings.reviewerMode === "self";
  const users = oneOf(sql`e.user_id`, options.users);
  const items = oneOf(sql`i.id`, options.items);
  const undecided = options.undecidedOnly
    ? sql`not exists (select 1 from review_decisions d where d.item_id = i.id)`
    : sql`true`;
  const rows = await tx.execute(sql`
    with recursive
      expanded(reviewer, user_id) as (
        select r, r from (select distinct unnest(reviewers) as r from review_items where campaign_id = ${campaign.id}) x
        union
        select e.reviewer, gm.member_id from expanded e
          join group_members gm on gm.group_id = e.user_id and gm.relation = 'member'
      ),
      memberships(user_id, group_id) as (
        select member_id, group_id from group_members where relation = 'member'
        union
        select m.user_id, gm.group_id from memberships m
          join group_members gm on gm.member_id = m.group_id and gm.relation = 'member'
      )
    select distinct i.id as item_id, e.user_id
    from review_items i
    cross join lateral unnest(i.reviewers) as rv(id)
    join expanded e on e.reviewer = rv.id
    join principals p on p.id = e.user_id and p.kind = 'user' and p.retired_at is null
    where i.campaign_id = ${campaign.id} and ${users} and ${items} and ${undecided}
      and (${self} or (e.user_id <> i.principal_id and not exists (
        select 1 from memberships ms where ms.user_id = e.user_id and ms.group_id = i.principal_id)))
    order by e.user_id, i.id`);
  return resultRows<{ item_id: string; user_id: string }>(rows).map((r) => ({ itemId: r.item_id, userId: r.user_id }));
}

/** Items by id with their decision, if any, in one statement (callers keep a batch to about 2,000). */
export async function itemsWithDecisions(
  tx: Executor,
  ids: string[],
): Promise<{ item: ReviewItemRow; decision: ReviewDecisionRow | null }[]> {
  return tx
    .select({ item: reviewItems, decision: reviewDecisions })
    .from(reviewItems)
    .leftJoin(reviewDecisions, eq(reviewDecisions.itemId, reviewItems.id))
    .where(inArray(reviewItems.id, ids));
}

/** A campaign's items counted by outcome, what decided it, source, and whether a decision exists. */
export async function tallyItems(
  tx: Executor,
  campaignId: string,
): Promise<
  {
    outcome: ReviewItemRow["outcome"];
    outcomeBy: ReviewItemRow["outcomeBy"];
    source: string;
    decided: boolean;
    n: number;
  }[]
> {
  return tx
    .select({
      outcome: reviewItems.outcome,
      outcomeBy: reviewItems.outcomeBy,
      source: reviewItems.source,
      decided: sql<boolean>`${reviewDecisions.itemId} is not null`,
      n: count(),
    })
    .from(reviewItems)
    .leftJoin(reviewDecisions, eq(reviewDecisions.itemId, reviewItems.id))
    .where(eq(reviewItems.campaignId, campaignId))
    .groupBy(
      reviewItems.outcome,
      reviewItems.outcomeBy,
      reviewItems.source,
      sql`${reviewDecisions.itemId} is not null`,
    );
}

/** How many of a campaign's items have no decision. */
export async function countUndecidedItems(tx: Executor, campaignId: string): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(reviewItems)
    .leftJoin(reviewDecisions, eq(reviewDecisions.itemId, reviewItems.id))
    .where(and(eq(reviewItems.campaignId, campaignId), isNull(reviewDecisions.itemId)));
  return Number(row?.n ?? 0);
}
