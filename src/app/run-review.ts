/**
 * Access reviews: a campaign snapshots the assignments in scope into items, reviewers decide Keep
 * or Remove, reminders go out before the end, and closing applies the decisions (and the policy
 * for unanswered items): assignments removed and audited one by one, active holdings revoked on
 * their targets through the outbox. Everything over items is set-based, so a campaign of 50,000
 * assignments is a few statements, not 50,000 transactions.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { PimReview } from "../config/pim-file.js";
import { type Executor, type Tx } from "../db/client.js";
import {
  adminIds,
  getSetting,
  groupsOf,
  principalById,
  principalIdsByKeys,
  resultRows,
  rolesByIds,
} from "../db/repos/directory.js";
import { principals } from "../db/schema/principals.js";
import { roles } from "../db/schema/roles.js";
import { reviewCampaigns, reviewDecisions, reviewItems } from "../db/schema/reviews.js";
import { DAY } from "../domain/duration.js";
import { type Refusal, refuse } from "../domain/refusal.js";
import { err, ok, type Result } from "../domain/result.js";
import {
  checkReviewer,
  dueReminders,
  recommend,
  type ReviewDecision,
  type ReviewSettings,
  reviewersFor,
} from "../domain/review-rules.js";
import { auditMany, chunks } from "./audit-batch.js";
import { type EngineDeps, inTransaction, type Work } from "./context.js";
import { newId } from "./ids.js";
import { endReviewedActivations, removeReviewedAssignments } from "./review-removals.js";

type CampaignRow = typeof reviewCampaigns.$inferSelect;

export interface StartReviewInput {
  /** The pim.yaml review it runs for; null for an ad hoc review. */
  definition: string | null;
  occurrenceAt: Date | null;
  settings: ReviewSettings;
  durationMs: number;
  /** Principal key, or "system". */
  startedBy: string;
}

export interface StartedReview {
  campaign: CampaignRow;
  items: number;
}

/**
 * Starts a campaign: freezes its settings and snapshots every in-scope assignment in force into
 * an item with its usage, recommendation and reviewers. A second start of the same occurrence
 * (another replica, a retry) returns null.
 */
export async function startReview(deps: EngineDeps, input: StartReviewInput): Promise<StartedReview | null> {
  return inTransaction(deps, async (work) => {
    const [campaign] = await work.tx
      .insert(reviewCampaigns)
      .values({
        id: newId("rvc"),
        definition: input.definition,
        occurrenceAt: input.occurrenceAt,
        settings: input.settings,
        status: "open",
        startedBy: input.startedBy,
        startsAt: work.now,
        endsAt: new Date(work.now.getTime() + input.durationMs),
      })
      .onConflictDoNothing()
      .returning();
    if (!campaign) return null;
    const items = await snapshotItems(work, campaign);
    work.emit({ type: "review.changed", campaignId: campaign.id, change: "started", itemIds: [] });
    work.audit({
      event: "review.started",
      actor: input.startedBy,
      data: {
        campaignId: campaign.id,
        definition: input.definition,
        title: input.settings.title,
        items,
        endsAt: campaign.endsAt.toISOString(),
      },
    });
    return { campaign, items };
  });
}

interface Candidate {
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
}

/** Rows per statement where rows travel as one JSON parameter (far faster than VALUES lists). */
const INSERT_CHUNK = 10_000;

async function snapshotItems(work: Work, campaign: CampaignRow): Promise<number> {
  const s = campaign.settings;
  const now = work.now.toISOString();
  const cutoff = new Date(work.now.getTime() - s.inactiveDays * DAY).toISOString();
  const inList = (column: ReturnType<typeof sql>, ids: string[]) =>
    ids.length === 0
      ? sql`false`
      : sql`${column} in (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})`;
  // Usage counts activations by the holder, or by any (nested) member of a holding group, of the
  // same role at or below the assignment's scope.
  const candidates = resultRows<Candidate>(
    await work.tx.execute(sql`
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
          where (${inList(sql`a.role_id`, s.roleIds)} or ${inList(sql`a.principal_id`, s.groupIds)})
            and ${inList(sql`a.kind`, s.kinds)}
            and (a.starts_at is null or a.starts_at <= ${now}::timestamptz)
            and (a.ends_at is null or a.ends_at > ${now}::timestamptz)
        ),
        usage as (
          select s.id, max(act.activated_at) as last,
                 count(act.activated_at) filter (where act.activated_at > ${cutoff}::timestamptz) as n
          from scoped s
          left join members m on m.group_id = s.principal_id
          join activations act on act.principal_id = coalesce(m.member_id, s.principal_id)
            and act.role_id = s.role_id and act.activated_at is not null
            and act.activated_at <= ${now}::timestamptz
            and (s.scope = '/' or act.scope = s.scope or act.scope like s.scope || '/%')
          group by s.id
        )
      select s.*, p.kind as holder_kind, p.manager_id, u.last, coalesce(u.n, 0) as n
      from scoped s join principals p on p.id = s.principal_id
      left join usage u on u.id = s.id
      order by s.id`),
  );
  const admins = [...(await adminIds(work.tx))];
  const asDate = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
  const rows = candidates.map((c) => {
    const since = asDate(c.since)!;
    const lastActivatedAt = asDate(c.last);
    return {
      id: newId("rvi"),
      campaignId: campaign.id,
      assignmentId: c.id,
      principalId: c.principal_id,
      roleId: c.role_id,
      scope: c.scope,
      kind: c.kind,
      source: c.source,
      assignmentEndsAt: asDate(c.ends_at),
      since,
      lastActivatedAt,
      activationCount: Number(c.n),
      recommendation: recommend({ kind: c.kind, since, lastActivatedAt }, s.inactiveDays, work.now),
      reviewers: reviewersFor({ id: c.principal_id, kind: c.holder_kind, managerId: c.manager_id }, s, admins),
    };
  });
  for (const batch of chunks(rows, INSERT_CHUNK))
    await work.tx.execute(sql`
      insert into review_items (id, campaign_id, assignment_id, principal_id, role_id, scope, kind, source,
        assignment_ends_at, since, last_activated_at, activation_count, recommendation, reviewers)
      select id, "campaignId", "assignmentId", "principalId", "roleId", scope, kind, source,
        "assignmentEndsAt", since, "lastActivatedAt", "activationCount", recommendation, reviewers
      from json_to_recordset(${JSON.stringify(batch)}::json) as x(id text, "campaignId" text, "assignmentId" text,
        "principalId" text, "roleId" text, scope text, kind text, source text, "assignmentEndsAt" timestamptz,
        since timestamptz, "lastActivatedAt" timestamptz, "activationCount" int, recommendation text, reviewers text[])`);
  return rows.length;
}

// ── starting: from pim.yaml, or from chat ──────────────────────────────────────────────────

/** pim.yaml's reviews as apply-config stored them (dates come back as text from JSON). */
export async function declaredReviews(db: Executor): Promise<PimReview[]> {
  const stored = (await getSetting<PimReview[]>(db, "reviews")) ?? [];
  return stored.map((r) => ({ ...r, start: r.start ? new Date(r.start) : null }));
}

/** A pim.yaml review's settings, with keys turned into ids as the directory stands now. */
export async function settingsOf(db: Executor, review: PimReview): Promise<ReviewSettings> {
  const roleRows = review.roles.length === 0 ? [] : await db.select({ id: roles.id }).from(roles).where(inArray(roles.key, review.roles));
  return {
    title: review.title,
    roleIds: roleRows.map((r) => r.id),
    groupIds: await principalIdsByKeys(db, review.groups),
    kinds: review.kinds,
    reviewerMode: review.reviewers.mode,
    reviewerIds: await principalIdsByKeys(db, review.reviewers.principals),
    fallbackIds: await principalIdsByKeys(db, review.fallbackReviewers),
    unanswered: review.unanswered,
    inactiveDays: review.inactiveDays,
    autoApply: review.autoApply,
    remindersMs: review.remindersMs,
  };
}

export async function startDeclaredReview(
  deps: EngineDeps,
  review: PimReview,
  occurrenceAt: Date,
  startedBy = "system",
): Promise<StartedReview | null> {
  return startReview(deps, {
    definition: review.name,
    occurrenceAt,
    settings: await settingsOf(deps.db, review),
    durationMs: review.durationMs,
    startedBy,
  });
}

/** How a review started from chat runs when it names a role rather than a pim.yaml review. */
export const AD_HOC_REVIEW = {
  durationMs: 7 * DAY,
  inactiveDays: 30,
  remindersMs: [DAY],
} as const;

/**
 * An administrator starts a review from chat: `name` is a pim.yaml review (run now, once more) or
 * a role key or name (every assignment of it, reviewed by managers with administrators as fallback).
 */
export async function startReviewFromChat(
  deps: EngineDeps,
  adminId: string,
  name: string,
  declared: PimReview[],
): Promise<Result<StartedReview, Refusal>> {
  const admin = await principalById(deps.db, adminId);
  if (!admin?.admin) return err(refuse("NOT_ALLOWED", "Only PIM administrators can start an access review."));
  const wanted = name.trim();
  if (!wanted) return err(refuse("NOT_FOUND", "Name a review from pim.yaml, or a role to review."));
  const review = declared.find((r) => r.name === wanted.toLowerCase());
  if (review) {
    const started = await startDeclaredReview(deps, review, deps.clock.now(), admin.key);
    return started ? ok(started) : err(refuse("WRONG_STATE", "That review was just started."));
  }
  const [role] = await deps.db
    .select({ id: roles.id, name: roles.name })
    .from(roles)
    .where(sql`${roles.retiredAt} is null and (${roles.key} = ${wanted.toLowerCase()} or lower(${roles.name}) = lower(${wanted}))`);
  if (!role)
    return err(
      refuse(
        "NOT_FOUND",
        `There is no review or role called "${wanted.slice(0, 60)}". Reviews: ${declared.map((r) => r.name).join(", ") || "none declared"}.`,
      ),
    );
  const started = await startReview(deps, {
    definition: null,
    occurrenceAt: null,
    durationMs: AD_HOC_REVIEW.durationMs,
    startedBy: admin.key,
    settings: {
      title: `Access review of ${role.name}`,
      roleIds: [role.id],
      groupIds: [],
      kinds: ["eligible", "active"],
      reviewerMode: "manager",
      reviewerIds: [],
      fallbackIds: [],
      unanswered: "keep",
      inactiveDays: AD_HOC_REVIEW.inactiveDays,
      autoApply: true,
      remindersMs: [...AD_HOC_REVIEW.remindersMs],
    },
  });
  return started ? ok(started) : err(refuse("WRONG_STATE", "That review was just started."));
}

// ── decisions ──────────────────────────────────────────────────────────────────────────────

export interface DecisionInput {
  itemId: string;
  decision: ReviewDecision;
  reason?: string | null;
}

const REASON_MAX = 1_000;
/**
 * Decisions made one by one (a button, a batched card) are audited one event each. A bulk call
 * (an import, the API) is audited as one `review.decided_batch` event per thousand decisions,
 * each listing every decision with its holder, role, scope and reason: the same facts, chained,
 * at a fraction of the cost.
 */
const ONE_EVENT_PER_DECISION_UP_TO = 100;
const DECISIONS_PER_BATCH_EVENT = 1_000;

/**
 * One reviewer's decision on one item (a button in chat). The reviewer comes from the platform's
 * verified identity; the item id from the button. A decision may be changed until the campaign
 * closes; every decision and every refusal is audited.
 */
export async function recordDecision(
  deps: EngineDeps,
  reviewerId: string,
  input: DecisionInput,
): Promise<Result<{ itemId: string; campaignId: string }, Refusal>> {
  const outcome = await recordDecisions(deps, reviewerId, [input]);
  if (!outcome.ok) return outcome;
  const refused = outcome.value.refused[0];
  if (refused) return err(refused.refusal);
  return ok({ itemId: input.itemId, campaignId: outcome.value.campaignIds[0]! });
}

export interface DecisionsOutcome {
  recorded: number;
  refused: { itemId: string; refusal: Refusal }[];
  campaignIds: string[];
}

/** Many decisions by one reviewer at once (a batched card's "Keep all", imports, the benchmark). */
export async function recordDecisions(
  deps: EngineDeps,
  reviewerId: string,
  inputs: DecisionInput[],
): Promise<Result<DecisionsOutcome, Refusal>> {
  return inTransaction(deps, async (work) => {
    const reviewer = await principalById(work.tx, reviewerId);
    if (!reviewer || reviewer.kind !== "user") return err(refuse("UNKNOWN_PRINCIPAL", "You are not known to PIM."));
    const groupIds = await groupsOf(work.tx, reviewer.id);
    const items = await loadItems(work.tx, inputs.map((i) => i.itemId));
    const campaigns = await loadCampaigns(work.tx, [...new Set([...items.values()].map((i) => i.campaignId))]);
    const refused: DecisionsOutcome["refused"] = [];
    const accepted: { input: DecisionInput; item: ItemRow }[] = [];
    for (const input of inputs) {
      const item = items.get(input.itemId);
      const campaign = item && campaigns.get(item.campaignId);
      if (!item || !campaign) {
        refused.push({ itemId: input.itemId, refusal: refuse("NOT_FOUND", "This review item does not exist.") });
        continue;
      }
      if (campaign.status !== "open" || campaign.endsAt <= work.now) {
        refused.push({ itemId: input.itemId, refusal: refuse("REVIEW_CLOSED", `${campaign.settings.title} has ended; decisions can no longer change.`) });
        continue;
      }
      const verdict = checkReviewer(
        { id: reviewer.id, groupIds },
        { holderId: item.principalId, reviewers: item.reviewers },
        campaign.settings.reviewerMode,
      );
      if (!verdict.ok) refused.push({ itemId: input.itemId, refusal: verdict.error });
      else accepted.push({ input, item });
    }

    for (const batch of chunks(accepted, INSERT_CHUNK)) {
      const rows = batch.map(({ input, item }) => ({
        itemId: item.id,
        campaignId: item.campaignId,
        reviewerId: reviewer.id,
        decision: input.decision,
        reason: input.reason?.trim().slice(0, REASON_MAX) || null,
      }));
      await work.tx.execute(sql`
        insert into review_decisions (item_id, campaign_id, reviewer_id, decision, reason, decided_at)
        select "itemId", "campaignId", "reviewerId", decision, reason, ${work.now.toISOString()}::timestamptz
        from json_to_recordset(${JSON.stringify(rows)}::json)
          as x("itemId" text, "campaignId" text, "reviewerId" text, decision text, reason text)
        on conflict (item_id) do update set decision = excluded.decision, reason = excluded.reason,
          reviewer_id = excluded.reviewer_id, decided_at = excluded.decided_at`);
    }

    const decided = accepted.map(({ input, item }) => ({
      subject: item.principalKey,
      role: item.roleKey,
      scope: item.scope,
      decision: input.decision,
      campaignId: item.campaignId,
      itemId: item.id,
      reason: input.reason?.trim() || null,
    }));
    await auditMany(work, [
      ...(inputs.length <= ONE_EVENT_PER_DECISION_UP_TO
        ? decided.map((d) => ({
            event: "review.decided",
            actor: reviewer.key,
            subject: d.subject,
            role: d.role,
            scope: d.scope,
            decision: d.decision,
            data: { campaignId: d.campaignId, itemId: d.itemId, reason: d.reason },
          }))
        : chunks(decided, DECISIONS_PER_BATCH_EVENT).map((batch) => ({
            event: "review.decided_batch",
            actor: reviewer.key,
            data: { decisions: batch },
          }))),
      ...refused.map(({ itemId, refusal }) => {
        const item = items.get(itemId);
        return {
          event: "review.refused",
          actor: reviewer.key,
          subject: item?.principalKey ?? null,
          role: item?.roleKey ?? null,
          scope: item?.scope ?? null,
          data: { campaignId: item?.campaignId ?? null, itemId, code: refusal.code, message: refusal.message },
        };
      }),
    ]);
    const campaignIds = [...new Set(accepted.map((a) => a.item.campaignId))];
    for (const campaignId of campaignIds)
      work.emit({
        type: "review.changed",
        campaignId,
        change: "decided",
        itemIds: accepted.filter((a) => a.item.campaignId === campaignId).map((a) => a.item.id),
      });
    if (campaignIds.length === 0 && items.size > 0) campaignIds.push([...items.values()][0]!.campaignId);
    return ok({ recorded: accepted.length, refused, campaignIds });
  });
}

/** An item with the keys of its holder and role, as audit rows name them. */
type ItemRow = Pick<typeof reviewItems.$inferSelect, "id" | "campaignId" | "principalId" | "roleId" | "scope" | "reviewers"> & {
  principalKey: string;
  roleKey: string;
};

/** `column in (…ids)` with the ids as one JSON parameter: one statement however many there are. */
const inJsonList = (column: ReturnType<typeof sql> | typeof reviewItems.id, ids: string[]) =>
  sql`${column} in (select json_array_elements_text(${JSON.stringify(ids)}::json))`;

async function loadItems(tx: Tx, ids: string[]): Promise<Map<string, ItemRow>> {
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
    .where(inJsonList(reviewItems.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r]));
}

async function loadCampaigns(tx: Tx, ids: string[]): Promise<Map<string, CampaignRow>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.select().from(reviewCampaigns).where(inArray(reviewCampaigns.id, ids)).for("share");
  return new Map(rows.map((r) => [r.id, r]));
}

// ── reminders ──────────────────────────────────────────────────────────────────────────────

/**
 * Claims the reminders now due for each open campaign (a compare-and-set on the campaign, so one
 * replica sends each) and returns the campaigns whose reviewers are to be reminded.
 */
export async function claimDueReminders(deps: EngineDeps): Promise<CampaignRow[]> {
  const now = deps.clock.now();
  const open = await deps.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.status, "open"));
  const claimed: CampaignRow[] = [];
  for (const c of open) {
    const due = dueReminders(c.endsAt, c.settings.remindersMs, c.remindersSent, now);
    if (due.length === 0) continue;
    const [row] = await deps.db
      .update(reviewCampaigns)
      .set({ remindersSent: [...c.remindersSent, ...due] })
      .where(
        and(
          eq(reviewCampaigns.id, c.id),
          eq(reviewCampaigns.status, "open"),
          sql`${reviewCampaigns.remindersSent} = ${JSON.stringify(c.remindersSent)}::jsonb`,
        ),
      )
      .returning();
    if (row) claimed.push(row);
  }
  return claimed;
}

// ── closing and applying ───────────────────────────────────────────────────────────────────

/** Campaigns whose end has come, still open. */
export async function campaignsDue(deps: EngineDeps): Promise<string[]> {
  const rows = await deps.db
    .select({ id: reviewCampaigns.id })
    .from(reviewCampaigns)
    .where(and(eq(reviewCampaigns.status, "open"), sql`${reviewCampaigns.endsAt} <= ${deps.clock.now().toISOString()}::timestamptz`));
  return rows.map((r) => r.id);
}

/**
 * Closes a campaign: each item's outcome is its decision or, unanswered, what the campaign says
 * (the same rule as the domain's outcomeOf, in one statement). With autoApply the removals are
 * carried out in the same transaction. Closing twice is a no-op (false).
 */
export async function closeReview(deps: EngineDeps, campaignId: string): Promise<boolean> {
  return inTransaction(deps, async (work) => {
    const [campaign] = await work.tx
      .select()
      .from(reviewCampaigns)
      .where(eq(reviewCampaigns.id, campaignId))
      .for("update");
    if (!campaign || campaign.status !== "open") return false;
    const policy = campaign.settings.unanswered;
    // With autoApply the items are marked applied in the same pass: one write per item, not two.
    const applied = campaign.settings.autoApply ? work.now.toISOString() : null;
    await work.tx.execute(sql`
      update review_items i
      set outcome = coalesce(x.decision, case ${policy} when 'recommendation' then i.recommendation else ${policy} end),
          outcome_by = case when x.decision is null then 'unanswered' else 'decision' end,
          applied_at = ${applied}::timestamptz
      from (select i2.id, d.decision from review_items i2 left join review_decisions d on d.item_id = i2.id
            where i2.campaign_id = ${campaignId}) x
      where i.id = x.id`);
    const [closed] = await work.tx
      .update(reviewCampaigns)
      .set({ status: "closed", closedAt: work.now })
      .where(eq(reviewCampaigns.id, campaignId))
      .returning();
    const summary = await outcomeCounts(work.tx, campaignId);
    await work.tx.update(reviewCampaigns).set({ summary }).where(eq(reviewCampaigns.id, campaignId));
    work.audit({ event: "review.closed", actor: "system", data: { campaignId, title: campaign.settings.title, ...summary } });
    work.emit({ type: "review.changed", campaignId, change: "closed", itemIds: [] });
    if (campaign.settings.autoApply) await applyOutcomes(work, closed!, "system");
    return true;
  });
}

/** Carries out a closed campaign that was not applied automatically (an administrator, from chat). */
export async function applyReview(
  deps: EngineDeps,
  campaignId: string,
  adminId: string,
): Promise<Result<{ removed: number }, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await principalById(work.tx, adminId);
    if (!admin?.admin) return err(refuse("NOT_ALLOWED", "Only PIM administrators can apply a review's results."));
    const [campaign] = await work.tx.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, campaignId)).for("update");
    if (!campaign) return err(refuse("NOT_FOUND", "This review does not exist."));
    if (campaign.status !== "closed") return err(refuse("WRONG_STATE", "The review is still running; it can be applied once it ends."));
    if (campaign.appliedAt) return err(refuse("ALREADY_DECIDED", `Already applied at ${campaign.appliedAt.toISOString()}.`));
    return ok({ removed: await applyOutcomes(work, campaign, admin.key) });
  });
}

async function applyOutcomes(work: Work, campaign: CampaignRow, by: string): Promise<number> {
  const removed = await removeReviewedAssignments(work, campaign, by);
  await endReviewedActivations(work, campaign, removed);
  await work.tx
    .update(reviewItems)
    .set({ appliedAt: work.now })
    .where(and(eq(reviewItems.campaignId, campaign.id), isNull(reviewItems.appliedAt)));
  await work.tx
    .update(reviewCampaigns)
    .set({ appliedAt: work.now, appliedBy: by })
    .where(eq(reviewCampaigns.id, campaign.id));
  work.audit({ event: "review.applied", actor: by, data: { campaignId: campaign.id, removed: removed.length } });
  work.emit({ type: "review.changed", campaignId: campaign.id, change: "applied", itemIds: [] });
  return removed.length;
}

async function outcomeCounts(tx: Tx, campaignId: string): Promise<Record<string, number>> {
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
