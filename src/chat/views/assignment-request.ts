import type { AssignmentRequestNotice } from "../../domain/notices.js";
import { ACTIONS } from "./action-ids.js";
import { onDay } from "./assignment-dates.js";
import { at, type Block, type Card, type Rich, strong, who } from "./card.js";
import { personRef } from "./request-parts.js";

const ASKS = { extend: "extend", renew: "renew" } as const;
const NOUN = { extend: "Extension", renew: "Renewal" } as const;
const DONE = { pending: "waiting", approved: "approved", denied: "denied", canceled: "canceled" } as const;

const dayOr = (time: Date | null, none: string) => (time ? onDay(time) : none);

/**
 * An extension or renewal request. The administrators' card carries Approve and Deny while it
 * waits and says who decided once it is decided; the requester's copy tells the outcome.
 */
export function assignmentRequestCard(n: AssignmentRequestNotice): Card {
  return n.forRequester ? outcomeCard(n) : deciderCard(n);
}

function deciderCard(n: AssignmentRequestNotice): Card {
  const whose = n.holder === n.requester.name ? "their " : `${n.holder}'s `;
  const asks: Rich = [
    who(personRef(n.requester)),
    n.status === "pending" ? ` asks to ${ASKS[n.request]} ` : ` asked to ${ASKS[n.request]} `,
    `${whose}${n.kind} assignment for `,
    strong(n.roleName),
    ` at ${n.scope}.`,
  ];
  const header =
    n.status === "pending"
      ? `${n.requester.name} asks to ${ASKS[n.request]} ${n.roleName}`
      : `${NOUN[n.request]} of ${n.roleName} ${DONE[n.status]}`;
  const blocks: Block[] = [
    { type: "text", text: asks },
    {
      type: "fields",
      fields: [
        {
          label: n.currentEnd && n.currentEnd <= n.requestedAt ? "Ended" : "Ends now",
          value: [dayOr(n.currentEnd, "—")],
        },
        { label: "Asked end", value: [dayOr(n.askedEnd, "—")] },
      ],
    },
    ...(n.reason ? [{ type: "quote" as const, label: "Reason", text: n.reason }] : []),
  ];
  if (n.status === "pending")
    blocks.push({
      type: "buttons",
      buttons: [
        { kind: "action", action: ACTIONS.assignmentApprove, value: n.requestId, label: "Approve", style: "primary" },
        { kind: "action", action: ACTIONS.assignmentDeny, value: n.requestId, label: "Deny", style: "danger" },
      ],
    });
  else blocks.push(...decision(n));
  blocks.push({ type: "context", lines: [[`Request ${n.requestId} · asked `, at(n.requestedAt)]] });
  return { header, tone: tone(n), summary: header, blocks };
}

function outcomeCard(n: AssignmentRequestNotice): Card {
  const header = `Your ${NOUN[n.request].toLowerCase()} of ${n.roleName} was ${DONE[n.status]}`;
  const text: Rich =
    n.status === "approved"
      ? [strong(n.roleName), ` at ${n.scope} (${n.kind}) now ends on ${dayOr(n.askedEnd, "—")}.`]
      : n.status === "pending"
        ? [strong(n.roleName), ` at ${n.scope}: the administrators have not decided yet.`]
        : [
            strong(n.roleName),
            ` at ${n.scope} (${n.kind}) `,
            n.request === "renew" ? "stays ended" : `still ends on ${dayOr(n.currentEnd, "—")}`,
            ".",
          ];
  return {
    header,
    tone: tone(n),
    summary: header,
    blocks: [{ type: "text", text }, ...decision(n)],
  };
}

function decision(n: AssignmentRequestNotice): Block[] {
  if (n.status === "pending") return [];
  const by: Rich = [`${DONE[n.status][0]!.toUpperCase()}${DONE[n.status].slice(1)} by ${n.decidedBy ?? "someone"}`];
  if (n.decidedAt) by.push(" at ", at(n.decidedAt), ` on ${n.decidedAt.toISOString().slice(0, 10)}`);
  by.push(".");
  return [
    { type: "text", text: by },
    ...(n.comment ? [{ type: "quote" as const, label: "Comment", text: n.comment }] : []),
  ];
}

const tone = (n: AssignmentRequestNotice): Card["tone"] =>
  n.status === "pending" ? "waiting" : n.status === "approved" ? "success" : n.status === "denied" ? "danger" : "muted";
