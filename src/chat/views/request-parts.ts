import { formatDuration } from "../../domain/duration.js";
import type { DecisionView, PersonView, RequestView, RoleInRequestView } from "../../domain/request-view.js";
import { at, type Block, type Field, listOf, type PersonRef, type Rich, strong, timeLeft, who } from "./card.js";

/** The pieces the requester's and the approvers' cards share. */

export const personRef = (p: PersonView): PersonRef => ({ name: p.name, slackId: p.slackId, teamsId: p.teamsId });

/** A request's roles in a stable order (by name), whatever order they were stored in. */
export function orderedRoles(view: Pick<RequestView, "roles">): RoleInRequestView[] {
  return [...view.roles].sort((a, b) => a.roleName.localeCompare(b.roleName) || a.scope.localeCompare(b.scope));
}

export function roleNames(view: RequestView): string {
  const names = orderedRoles(view).map((r) => r.roleName);
  return names.length <= 2 ? names.join(" and ") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

export const roleAtScope = (r: RoleInRequestView): Rich => [strong(r.roleName), ` at ${r.scope}`];

const END_REASONS: Record<string, string> = {
  expired: "its time was up",
  deactivated: "ended early",
  revoked: "revoked by an administrator",
  superseded: "replaced by its extension",
};

/** One role's state in words, the same on every card. */
export function roleStatus(r: RoleInRequestView, now: Date): Rich {
  switch (r.status) {
    case "requested":
    case "activating":
      return r.startsAt && r.startsAt > now ? ["scheduled to start ", at(r.startsAt)] : ["being granted"];
    case "pending_mfa":
      return ["waiting for MFA"];
    case "pending_approval":
      return r.approvalsNeeded > 1
        ? [`waiting for approval (${r.approvalsSoFar} of ${r.approvalsNeeded})`]
        : ["waiting for approval"];
    case "active":
      return r.endsAt
        ? ["active until ", at(r.endsAt), ` (${timeLeft(r.endsAt.getTime() - now.getTime())} left)`]
        : ["active"];
    case "ending":
      return ["being revoked"];
    case "ended":
      return [`ended: ${END_REASONS[r.reason ?? ""] ?? r.reason ?? "ended"}`];
    case "denied":
      return ["denied"];
    case "canceled":
      return ["canceled"];
    case "timed_out":
      return [`timed out: ${r.reason ?? "no decision in time"}`];
    case "failed":
      return [`failed: ${r.reason ?? "the grant did not succeed"}`];
    default: {
      const never: never = r.status;
      return [String(never)];
    }
  }
}

/** "Database Administrator at /mg/prod — active until 11:00", one line per role. */
export function rolesBlock(view: RequestView, now: Date): Block {
  return {
    type: "text",
    text: orderedRoles(view).flatMap((r, i) => [
      ...(i > 0 ? ["\n"] : []),
      "• ",
      ...roleAtScope(r),
      " — ",
      ...roleStatus(r, now),
    ]),
  };
}

export function requestFields(view: RequestView, extra: Field[] = []): Block {
  const fields: Field[] = [
    { label: "Duration", value: [formatDuration(view.durationMs)] },
    { label: "Requested", value: [at(view.requestedAt)] },
    ...(view.startsAt ? [{ label: "Starts", value: [at(view.startsAt)] }] : []),
    ...(view.ticket ? [{ label: "Ticket", value: [view.ticket] }] : []),
    ...extra,
  ];
  return { type: "fields", fields };
}

export function justificationBlocks(view: RequestView): Block[] {
  return view.justification ? [{ type: "quote", label: "Justification", text: view.justification }] : [];
}

/** "Approved by Bob at 10:42 and Carol at 10:44" / "Denied by Bob at 10:42". */
export function decisionsLine(decisions: DecisionView[]): Rich | undefined {
  const approvals = decisions.filter((d) => d.decision === "approve");
  const denial = decisions.find((d) => d.decision === "deny");
  const line: Rich = [];
  approvals.forEach((d, i) => {
    line.push(i === 0 ? "Approved by " : i === approvals.length - 1 ? " and " : ", ");
    line.push(who(personRef(d.approver)), " at ", at(d.at));
  });
  if (denial)
    line.push(line.length > 0 ? "; denied by " : "Denied by ", who(personRef(denial.approver)), " at ", at(denial.at));
  return line.length > 0 ? [...line, "."] : undefined;
}

export function deniedComment(view: RequestView): string | null {
  return view.decisions.find((d) => d.decision === "deny")?.comment ?? null;
}

/** Who may still decide, for "waiting for approval from …". */
export function approverList(view: RequestView): Rich {
  const decided = new Set(view.decisions.map((d) => d.approver.id));
  const waiting = view.approvers.filter((p) => !decided.has(p.id));
  const shown = waiting.slice(0, 8).map((p) => who(personRef(p)));
  if (waiting.length > 8) shown.push(`${waiting.length - 8} others`);
  return shown.length > 0 ? listOf(shown, "or") : ["an approver"];
}

export const isPending = (r: RoleInRequestView) => r.status === "pending_approval" || r.status === "pending_mfa";
