/**
 * Starting an access review: the campaign freezes its settings and snapshots every assignment in
 * scope into an item with its usage, recommendation and reviewers, set-based (one query in, one
 * JSON-fed insert per 10,000 items out), so 50,000 assignments are a few statements.
 */
import type { PimReview } from "../../config/pim-file.js";
import type { Executor } from "../../db/client.js";
import {
  adminIds,
  expandToUsers,
  getSetting,
  groupRoleList,
  principalById,
  principalIdsByKeys,
  roleByKeyOrName,
  roleIdsByKeys,
} from "../../db/repos/directory.js";
import { ownersOf } from "../../db/repos/group-access.js";
import { type CampaignRow, findReviewCandidates, insertCampaign, insertReviewItems } from "../../db/repos/reviews.js";
import { DAY } from "../../domain/duration.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type ReviewSettings, recommend, reviewersFor } from "../../domain/review-rules.js";
import { chunks } from "../kernel/chunks.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";

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
    const campaign = await insertCampaign(work.tx, {
      id: newId("rvc"),
      definition: input.definition,
      occurrenceAt: input.occurrenceAt,
      settings: input.settings,
      status: "open",
      startedBy: input.startedBy,
      startsAt: work.now,
      endsAt: new Date(work.now.getTime() + input.durationMs),
    });
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

/** Rows per statement where rows travel as one JSON parameter (far faster than VALUES lists). */
const INSERT_CHUNK = 10_000;

async function snapshotItems(work: Work, campaign: CampaignRow): Promise<number> {
  const s = campaign.settings;
  // Activations since the inactivity window began are what counts as use.
  const candidates = await findReviewCandidates(
    work.tx,
    s,
    work.now,
    new Date(work.now.getTime() - s.inactiveDays * DAY),
  );
  const admins = [...(await adminIds(work.tx))];
  const ownersOfRole = await membershipOwners(work, s.reviewerMode === "self" ? [] : candidates.map((c) => c.roleId));
  const rows = candidates.map((c) => ({
    id: newId("rvi"),
    campaignId: campaign.id,
    assignmentId: c.assignmentId,
    principalId: c.principalId,
    roleId: c.roleId,
    scope: c.scope,
    kind: c.kind,
    source: c.source,
    assignmentEndsAt: c.endsAt,
    since: c.since,
    lastActivatedAt: c.lastActivatedAt,
    activationCount: c.activationCount,
    recommendation: recommend(c, s.inactiveDays, work.now),
    reviewers: withOwners(
      reviewersFor({ id: c.principalId, kind: c.holderKind, managerId: c.managerId }, s, admins),
      ownersOfRole.get(c.roleId),
      c.principalId,
    ),
  }));
  for (const batch of chunks(rows, INSERT_CHUNK)) await insertReviewItems(work.tx, batch);
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
  return {
    title: review.title,
    roleIds: await roleIdsByKeys(db, review.roles),
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
  const role = await roleByKeyOrName(deps.db, wanted.toLowerCase());
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
