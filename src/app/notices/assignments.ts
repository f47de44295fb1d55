/**
 * Tells people about the life of assignments, from the engine's assignment events: a short notice
 * to the audiences a role's policy names when an administrator makes, changes or removes one; the
 * holder's reminder (with Extend) and the administrators' copy before one ends; and for an
 * extension or renewal, a card with Approve and Deny to each administrator, redrawn in place once
 * someone decided, and the outcome to the requester. Each event is published once, by the process
 * whose transaction made it true, so each message goes out once.
 */
import type { Executor } from "../../db/client.js";
import { getAssignment } from "../../db/repos/assignments.js";
import { holderAndRoleNames, principalByKey, principalsByIds } from "../../db/repos/directory.js";
import type { ChatPlatformName } from "../../domain/card-routing.js";
import type { AssignmentChangeNotice, AssignmentExpiringNotice } from "../../domain/notices.js";
import { type PersonView, person } from "../../domain/request-view.js";
import { assignmentRequestNotice } from "../admin/assignment-views.js";
import type { AssignmentEvent, EngineEvent } from "../kernel/events.js";
import { messagesAbout } from "./chat-messages.js";
import type { MessageKey } from "./delivery.js";
import { NoticeListener } from "./notice-listener.js";

/** The kind of message that is the administrators' card of an extension or renewal request. */
export const REQUEST_CARD_KIND = "assignment_request";

/** The administrators' card of one extension or renewal request, redrawn in place as it is decided. */
export const requestCardKey = (requestId: string): MessageKey => ({ subjectId: requestId, kind: REQUEST_CARD_KIND });

const PLATFORMS: ChatPlatformName[] = ["slack", "teams"];

type Of<T extends AssignmentEvent["type"]> = Extract<AssignmentEvent, { type: T }>;

export class AssignmentNotices extends NoticeListener {
  protected handle(event: EngineEvent): Promise<void> | null {
    if (event.type === "assignment.changed") return this.changed(event);
    if (event.type === "assignment.expiring") return this.expiring(event);
    if (event.type === "assignment.request") return this.request(event);
    return null;
  }

  /** Made, changed or removed: the role's assignment audiences and, when it says so, the alert channel. */
  private async changed(event: Of<"assignment.changed">): Promise<void> {
    // An assignment waiting for its administrator's step-up has not happened yet; they were told where they made it.
    if (event.change === "pending_step_up") return;
    const { db, clock } = this.deps;
    const [names, people] = await Promise.all([
      holderAndRoleNames(db, event.principalId, event.roleId),
      usersToTell(db, event.audienceIds),
    ]);
    const notice: AssignmentChangeNotice = {
      change: event.change,
      assignmentId: event.assignmentId,
      holder: names.holderName,
      roleName: names.roleName,
      scope: event.scope,
      kind: event.kind,
      endsAt: event.endsAt,
      by: await actorName(db, event.actor),
      reason: event.reason,
      at: clock.now(),
    };
    for (const p of people) await this.delivery.toPerson(p, { type: "assignment.changed", notice });
    if (event.alertChannel) await this.delivery.toAlertChannel({ type: "assignment.changed", notice });
  }

  /** The holder's reminder (Extend where chat may change it) and the administrators' copy. */
  private async expiring(event: Of<"assignment.expiring">): Promise<void> {
    const { db, clock } = this.deps;
    const [a, names, holders, admins] = await Promise.all([
      getAssignment(db, event.assignmentId),
      holderAndRoleNames(db, event.principalId, event.roleId),
      usersToTell(db, event.holderIds),
      usersToTell(
        db,
        event.administratorIds.filter((id) => !event.holderIds.includes(id)),
      ),
    ]);
    const notice: AssignmentExpiringNotice = {
      assignmentId: event.assignmentId,
      holder: names.holderName,
      roleName: names.roleName,
      scope: event.scope,
      kind: event.kind,
      endsAt: event.endsAt,
      leadMs: event.leadMs,
      extendable: a !== undefined && a.source !== "file",
      forAdmins: false,
      at: clock.now(),
    };
    for (const p of holders) await this.delivery.toPerson(p, { type: "assignment.expiring", notice });
    for (const p of admins)
      await this.delivery.toPerson(p, { type: "assignment.expiring", notice: { ...notice, forAdmins: true } });
  }

  /**
   * Asked: a card to each administrator who may decide. Decided: every administrator's card is
   * redrawn where it is (none is posted anew), and the requester is told the outcome.
   */
  private async request(event: Of<"assignment.request">): Promise<void> {
    const { db } = this.deps;
    const notice = await assignmentRequestNotice(db, event.requestId, false);
    if (!notice) return;
    const key = requestCardKey(event.requestId);
    if (event.change === "requested") {
      for (const p of await usersToTell(db, event.administratorIds))
        await this.delivery.toPerson(p, { type: "assignment.request", notice }, key);
      return;
    }
    const shownTo = new Set<string>();
    for (const platform of PLATFORMS)
      for (const row of await messagesAbout(db, platform, event.requestId))
        if (row.kind === key.kind && row.principalId) shownTo.add(row.principalId);
    for (const p of await usersToTell(db, [...shownTo]))
      await this.delivery.toPerson(p, { type: "assignment.request", notice }, key);
    await this.delivery.toPerson(notice.requester, {
      type: "assignment.request",
      notice: { ...notice, forRequester: true },
    });
  }
}

/** The users among these ids who can be told: people, not groups, still in the policy file. */
async function usersToTell(db: Executor, ids: string[]): Promise<PersonView[]> {
  if (ids.length === 0) return [];
  return [...(await principalsByIds(db, [...new Set(ids)])).values()]
    .filter((p) => p.kind === "user" && !p.retiredAt)
    .map(person);
}

/** An administrator by name; the operator at the command line as `cli:<login>`. */
async function actorName(db: Executor, actor: string): Promise<string> {
  if (actor.startsWith("cli:")) return actor;
  return (await principalByKey(db, actor))?.name ?? actor;
}
