/**
 * Who hears of what, per role policy (`notifications:` in pim.yaml): activations, approvals and
 * assignment changes go to the audiences the policy names, and only what needs someone to act
 * when the policy says `criticalOnly`. The requester's card and the approvers' cards are the chat
 * notifier's job; this adds the other audiences, the expiring-soon notice and notices that must
 * go out once per cluster (claimed in notices_sent).
 */
import type { Executor } from "../../db/client.js";
import {
  adminIds,
  expandToUsers,
  principalIdsByKeys,
  principalsByIds,
  type Role,
  rolesByIds,
} from "../../db/repos/directory.js";
import { activationsEndingBetween, appliedRemovalsOfReview, claimNotice } from "../../db/repos/notices.js";
import { MINUTE } from "../../domain/duration.js";
import type { ActivityKind, ActivityNotice, ExpiringNotice, RemovalsNotice } from "../../domain/notices.js";
import type { NotificationSettings, Recipient } from "../../domain/policy.js";
import { getRequestView, type PersonView, person, type RoleInRequestView } from "../activation/views.js";
import type { EngineEvent } from "../kernel/events.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";
import { getCampaign } from "../reviews/views.js";
import type { Delivery } from "./delivery.js";
import { NoticeListener } from "./notice-listener.js";

export type { ActivityKind, ActivityNotice, ExpiringNotice, RemovalsNotice };

export type PolicyEvent = keyof Omit<NotificationSettings, "criticalOnly">;

/** The expiring-soon notice goes out this long before an activation ends. */
export const EXPIRING_LEAD_MS = 15 * MINUTE;

export interface Audience {
  people: PersonView[];
  alertChannel: boolean;
}

/**
 * The people and channels a policy names for one event. `requester` and `approvers` are resolved
 * only when given; a non-critical message to a role with `criticalOnly` goes to nobody.
 */
export async function audienceFor(
  db: Executor,
  role: Role,
  event: PolicyEvent,
  context: { requesterId?: string | null; approverIds?: string[]; critical: boolean },
  skip: { requester?: boolean; approvers?: boolean } = {},
): Promise<Audience> {
  const settings = role.policy.notifications;
  if (settings.criticalOnly && !context.critical) return { people: [], alertChannel: false };
  const ids = new Set<string>();
  let alertChannel = false;
  for (const recipient of settings[event] as Recipient[]) {
    if (recipient === "alert_channel") alertChannel = true;
    else if (recipient === "admins") for (const id of await adminIds(db)) ids.add(id);
    else if (recipient === "requester") {
      if (!skip.requester && context.requesterId) ids.add(context.requesterId);
    } else if (recipient === "approvers") {
      if (!skip.approvers) for (const id of context.approverIds ?? []) ids.add(id);
    } else {
      const key = recipient.slice(recipient.indexOf(":") + 1);
      for (const id of await expandToUsers(db, await principalIdsByKeys(db, [key]))) ids.add(id);
    }
  }
  const people = [...(await principalsByIds(db, [...ids])).values()]
    .filter((p) => p.kind === "user" && !p.retiredAt)
    .map(person);
  return { people, alertChannel };
}

// ── activations ────────────────────────────────────────────────────────────────────────────

const ACTIVITY_OF: Partial<Record<RoleInRequestView["status"], ActivityKind>> = {
  active: "granted",
  ended: "ended",
  denied: "denied",
  failed: "failed",
  timed_out: "timed_out",
  pending_approval: "approval_needed",
};

/** Only what someone must act on counts as critical: a request waiting for approval, a failure. */
const CRITICAL: Set<ActivityKind> = new Set(["approval_needed", "failed"]);

/**
 * Tells the audiences a role's policy names when one of its activations is granted, ends, is
 * denied, fails or waits for approval. The requester and the approvers already have live cards,
 * and the alert channel already has a notice for roles marked `notify`, so those are not told twice.
 */
export class ActivityNotices extends NoticeListener {
  protected handle(event: EngineEvent): Promise<void> | null {
    return event.type === "request.changed" ? this.notify(event.requestId) : null;
  }

  async notify(requestId: string): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const view = await getRequestView(db, requestId, now);
    if (!view) return;
    const roles = await rolesByIds(
      db,
      view.roles.map((r) => r.roleId),
    );
    for (const r of view.roles) {
      const kind = ACTIVITY_OF[r.status];
      if (!kind) continue;
      const role = roles.get(r.roleId)!;
      const event: PolicyEvent = kind === "approval_needed" ? "approval" : "activation";
      const audience = await audienceFor(
        db,
        role,
        event,
        { requesterId: view.requester.id, approverIds: view.approvers.map((a) => a.id), critical: CRITICAL.has(kind) },
        { requester: true, approvers: true },
      );
      const people = audience.people.filter((p) => p.id !== view.requester.id);
      const toChannel = audience.alertChannel && !role.notify && kind !== "approval_needed";
      if (people.length === 0 && !toChannel) continue;
      if (!(await claimNotice(db, `activity:${r.activationId}:${r.status}`, now))) continue;
      const notice: ActivityNotice = {
        kind,
        requester: view.requester,
        requestId,
        activationId: r.activationId,
        roleName: r.roleName,
        scope: r.scope,
        endsAt: r.endsAt,
        reason: r.reason,
        at: now,
      };
      for (const p of people) await this.delivery.toPerson(p, { type: "activity", notice });
      if (toChannel) await this.delivery.toAlertChannel({ type: "activity", notice });
    }
  }
}

// ── expiring soon ──────────────────────────────────────────────────────────────────────────

/**
 * Tells each holder whose activation ends within `leadMs` that it is about to end, with an
 * Extend button; once per activation across the cluster. Returns how many were told.
 */
export async function sendExpiringNotices(
  deps: Pick<EngineDeps, "db" | "clock">,
  delivery: Delivery,
  leadMs = EXPIRING_LEAD_MS,
): Promise<number> {
  const now = deps.clock.now();
  const due = await activationsEndingBetween(deps.db, now, new Date(now.getTime() + leadMs));
  if (due.length === 0) return 0;
  const people = await principalsByIds(
    deps.db,
    due.map((d) => d.principalId),
  );
  const roles = await rolesByIds(
    deps.db,
    due.map((d) => d.roleId),
  );
  let told = 0;
  for (const a of due) {
    const holder = people.get(a.principalId);
    if (!holder || !(await claimNotice(deps.db, `expiring:${a.id}`, now))) continue;
    const notice: ExpiringNotice = {
      activationId: a.id,
      roleName: roles.get(a.roleId)?.name ?? a.roleId,
      scope: a.scope,
      endsAt: a.endsAt!,
      at: now,
    };
    if (await delivery.toPerson(person(holder), { type: "expiring", notice }, { subjectId: a.id, kind: "expiring" }))
      told++;
  }
  return told;
}

// ── assignment changes ─────────────────────────────────────────────────────────────────────

const REMOVALS_SHOWN = 20;

/**
 * Once a review's removals are applied, tells the audiences each role's policy names for
 * assignment changes (by default the administrators; `requester` is the holder): one message per
 * person, listing what was removed, once across the cluster.
 */
export async function notifyReviewRemovals(
  deps: Pick<EngineDeps, "db" | "clock">,
  delivery: Delivery,
  campaignId: string,
): Promise<number> {
  const { db, clock } = deps;
  const campaign = await getCampaign(db, campaignId);
  if (!campaign?.appliedAt) return 0;
  const removed = await appliedRemovalsOfReview(db, campaignId);
  if (removed.length === 0) return 0;
  const byPerson = new Map<string, { person: PersonView; removals: typeof removed }>();
  const roleById = await rolesByIds(
    db,
    removed.map((r) => r.roleId),
  );
  for (const [roleId, role] of roleById) {
    const ofRole = removed.filter((r) => r.roleId === roleId);
    const audience = await audienceFor(db, role, "assignment", { critical: false }, { requester: true });
    const holders = role.policy.notifications.assignment.includes("requester")
      ? [
          ...(
            await principalsByIds(
              db,
              ofRole.map((r) => r.principalId),
            )
          ).values(),
        ].filter((p) => p.kind === "user")
      : [];
    for (const p of audience.people)
      byPerson.set(p.id, { person: p, removals: [...(byPerson.get(p.id)?.removals ?? []), ...ofRole] });
    for (const h of holders) {
      const own = ofRole.filter((r) => r.principalId === h.id);
      byPerson.set(h.id, { person: person(h), removals: [...(byPerson.get(h.id)?.removals ?? []), ...own] });
    }
  }
  let told = 0;
  for (const { person: p, removals } of byPerson.values()) {
    if (!(await claimNotice(db, `removals:${campaignId}:${p.id}`, clock.now()))) continue;
    const notice: RemovalsNotice = {
      review: campaign.settings.title,
      removals: removals
        .slice(0, REMOVALS_SHOWN)
        .map(({ holder, roleName, scope, kind }) => ({ holder, roleName, scope, kind })),
      total: removals.length,
      own: removals.every((r) => r.principalId === p.id),
    };
    if (await delivery.toPerson(p, { type: "removals", notice })) told++;
  }
  return told;
}
