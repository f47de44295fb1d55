/**
 * Starting an access review: the campaign freezes its settings and snapshots every assignment in
 * scope into an item with its usage, recommendation and reviewers, set-based (one query in, one
 * JSON-fed insert per 10,000 items out), so 50,000 assignments are a few statements.
 */
import { inArray, sql } from "drizzle-orm";
import type { PimReview } from "../config/pim-file.js";
import type { Executor } from "../db/client.js";
import {
  adminIds,
  expandToUsers,
  getSetting,
  groupRoleList,
  principalById,
  principalIdsByKeys,
  resultRows,
} from "../db/repos/directory.js";
import { ownersOf } from "../db/repos/group-access.js";
import { reviewCampaigns } from "../db/schema/reviews.js";
import { roles } from "../db/schema/roles.js";
import { DAY } from "../domain/duration.js";
import { type Refusal, refuse } from "../domain/refusal.js";
import { err, ok, type Result } from "../domain/result.js";
import { type ReviewSettings, recommend, reviewersFor } from "../domain/review-rules.js";
import { chunks } from "./chunks.js";
import { type EngineDeps, inTransaction, type Work } from "./context.js";
import { newId } from "./ids.js";

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
  const ownersOfRole = await membershipOwners(work, s.reviewerMode === "self" ? [] : candidates.map((c) => c.role_id));
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
      reviewers: withOwners(
        reviewersFor({ id: c.principal_id, kind: c.holder_kind, managerId: c.manager_id }, s, admins),
        ownersOfRole.get(c.role_id),
        c.principal_id,
      ),
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

/**
 * PIM for Groups: a privileged group's owners (declared, or holding its ownership now) review who
 * may be its members, besides the review's own reviewers; by role id of each membership role.
 */
async function membershipOwners(work: Work, roleIds: string[]): Promise<Map<string, Set<string>>> {
  const groupRoles = await groupRoleList(work.tx);
  const found = new Map<string, Set<string>>();
  for (const role of groupRoles) {
    if (role.access !== "member" || !roleIds.includes(role.id)) continue;
    found.set(
      role.id,
      await ownersOf(work.tx, groupRoles, role.groupId, work.now, (ids) => expandToUsers(work.tx, ids)),
    );
  }
  return found;
}

function withOwners(reviewers: string[], owners: Set<string> | undefined, holderId: string): string[] {
  if (!owners) return reviewers;
  return [...new Set([...reviewers, ...[...owners].filter((id) => id !== holderId)])];
}

/** pim.yaml's reviews as apply-config stored them (dates come back as text from JSON). */
export async function declaredReviews(db: Executor): Promise<PimReview[]> {
  const stored = (await getSetting<PimReview[]>(db, "reviews")) ?? [];
  return stored.map((r) => ({ ...r, start: r.start ? new Date(r.start) : null }));
}

/** A pim.yaml review's settings, with keys turned into ids as the directory stands now. */
export async function settingsOf(db: Executor, review: PimReview): Promise<ReviewSettings> {
  const roleRows =
    review.roles.length === 0
      ? []
      : await db.select({ id: roles.id }).from(roles).where(inArray(roles.key, review.roles));
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
  if (!admin?.admin) {
    const refusal = refuse("NOT_ALLOWED", "Only PIM administrators can start an access review.");
    await inTransaction(deps, async (work) =>
      work.audit({
        event: "review.refused",
        actor: admin?.key ?? adminId,
        data: { code: refusal.code, action: "start", review: name },
      }),
    );
    return err(refusal);
  }
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
    .where(
      sql`${roles.retiredAt} is null and (${roles.key} = ${wanted.toLowerCase()} or lower(${roles.name}) = lower(${wanted}))`,
    );
  if (!role)
    return err(
      refuse(
        "NOT_FOUND",
        `There is no review or role called "${wanted.slice(0, 60)}". Reviews: ${declared.map((r) => r.name).join(", ") || "none declared"}.`,
      ),
    );
  return startAdHocRoleReview(deps, role, admin.key);
}

/** A one-off review of one role (every eligible and active assignment), asked for by name. */
export async function startAdHocRoleReview(
  deps: EngineDeps,
  role: { id: string; name: string },
  startedBy: string,
): Promise<Result<StartedReview, Refusal>> {
  const started = await startReview(deps, {
    definition: null,
    occurrenceAt: null,
    durationMs: AD_HOC_REVIEW.durationMs,
    startedBy,
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
