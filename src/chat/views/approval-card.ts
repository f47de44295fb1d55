import { formatDuration } from "../../domain/duration.js";
import type { DecisionView, PersonView, RequestView } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import { at, type Block, type Card, type Field, plainText, type Rich, strong, type Tone, who } from "./card.js";
import {
  approverList,
  decisionsLine,
  deniedComment,
  justificationBlocks,
  personRef,
  requestFields,
  roleNames,
  rolesBlock,
} from "./request-parts.js";

export interface ApprovalCardOptions {
  now: Date;
  /** The approver the card is drawn for; null for the one shared card in an approvers' channel. */
  viewerId: string | null;
}

/**
 * The approver's card. While the request waits it carries Approve and Deny; once anyone decides,
 * every copy is redrawn with who decided what and when, so nobody acts on a stale card.
 */
export function approvalCard(view: RequestView, opts: ApprovalCardOptions): Card {
  const pending = view.roles.some((r) => r.status === "pending_approval");
  const mine = opts.viewerId ? view.decisions.find((d) => d.approver.id === opts.viewerId) : undefined;
  const { title, tone } = headline(view, pending);
  const header = `${title}: ${view.requester.name}, ${roleNames(view)}`;
  const lead: Rich = [
    who(personRef(view.requester)),
    " asks for ",
    strong(roleNames(view)),
    ` for ${formatDuration(view.durationMs)}.`,
  ];
  const blocks: Block[] = [
    { type: "text", text: lead },
    rolesBlock(view, opts.now),
    requestFields(view, [{ label: "Requester", value: [who(personRef(view.requester))] }, ...historyFields(view)]),
    ...justificationBlocks(view),
  ];
  const outcome = outcomeLine(view, pending, mine);
  if (outcome) blocks.push({ type: "text", text: outcome });
  const comment = deniedComment(view);
  if (comment) blocks.push({ type: "quote", label: "Comment", text: comment });
  if (pending && !mine) {
    const needing = view.roles.filter((r) => r.status === "pending_approval" && r.approvalCommentRequired);
    if (needing.length > 0)
      blocks.push({
        type: "text",
        text: [
          "A comment is required to approve ",
          strong([...new Set(needing.map((r) => r.roleName))].join(" and ")),
          ": write it in the comment box, then click Approve.",
        ],
      });
    blocks.push({
      type: "buttons",
      buttons: [
        { kind: "action", action: ACTIONS.approve, value: view.requestId, label: "Approve", style: "primary" },
        { kind: "action", action: ACTIONS.deny, value: view.requestId, label: "Deny", style: "danger" },
      ],
    });
  }
  blocks.push({ type: "context", lines: [contextLine(view, pending)] });
  return { header, tone, summary: `${header}. ${plainText(lead)}`, blocks };
}

function headline(view: RequestView, pending: boolean): { title: string; tone: Tone } {
  if (pending) return { title: "Approval needed", tone: "waiting" };
  if (view.decisions.some((d) => d.decision === "deny")) return { title: "Denied", tone: "danger" };
  if (view.status === "timed_out") return { title: "Timed out", tone: "warning" };
  if (view.status === "canceled") return { title: "Canceled", tone: "muted" };
  if (view.status === "pending_mfa") return { title: "Waiting for MFA", tone: "waiting" };
  if (view.decisions.some((d) => d.decision === "approve")) return { title: "Approved", tone: "success" };
  return { title: "Closed", tone: "muted" };
}

/** How often the requester used each role lately: the one number approvers asked for most. */
function historyFields(view: RequestView): Field[] {
  return view.roles.map((r) => ({
    label: view.roles.length > 1 ? `Last 30 days (${r.roleName})` : "Last 30 days",
    value: [`activated ${r.recentActivations} ${r.recentActivations === 1 ? "time" : "times"} in the last 30 days`],
  }));
}

function outcomeLine(view: RequestView, pending: boolean, mine: DecisionView | undefined): Rich | undefined {
  const decided = decisionsLine(view.decisions);
  if (pending) {
    const needed = Math.max(...view.roles.map((r) => r.approvalsNeeded));
    const soFar = Math.min(...view.roles.filter((r) => r.status === "pending_approval").map((r) => r.approvalsSoFar));
    const line: Rich = [];
    if (mine) line.push("You approved at ", at(mine.at), ". ");
    if (needed > 1) line.push(`Needs ${needed} approvals; ${soFar} so far. `);
    if (decided && !mine) line.push(...decided, " ");
    line.push("Waiting for ", ...approverList(view), ".");
    return line;
  }
  if (view.status === "timed_out") return ["Nobody decided before the deadline; the request timed out."];
  if (view.status === "canceled") return ["The requester canceled this request."];
  return decided;
}

function contextLine(view: RequestView, pending: boolean): Rich {
  const line: Rich = [`Request ${view.requestId}`];
  if (pending && view.approvalDeadline) line.push(" · times out at ", at(view.approvalDeadline));
  return line;
}

/** What a late clicker is told: "Already approved by Bob at 10:42." */
export function alreadyDecidedLine(
  decidedBy: { approverId: string; decision: string; at: Date },
  people: PersonView[],
): Rich {
  const person = people.find((p) => p.id === decidedBy.approverId);
  const verb = decidedBy.decision === "approve" ? "approved" : "denied";
  return [
    `Already ${verb} by `,
    person ? who(personRef(person)) : "another approver",
    " at ",
    at(decidedBy.at),
    ". Nothing was changed.",
  ];
}
