/**
 * `history` and `approvals`: what I asked for in the last 90 days and how each ended, and the
 * decisions I made on other people's requests. Newest first, capped so that a card stays within
 * Slack's 50 blocks and Teams' card size; the rest is named, with where to find it.
 */
import type { Block, Card, Rich } from "./card.js";
import { cutText, strong } from "./card.js";

/** At most this many requests or decisions on one card. */
export const HISTORY_SHOWN = 15;
/** What is kept of a justification or a comment on these lists; the audit log keeps it whole. */
const TEXT_SHOWN = 200;

export interface RequestHistoryRow {
  requestedAt: Date;
  justification: string | null;
  ticket: string | null;
  roles: { roleName: string; scope: string; status: string; reason: string | null; endsAt: Date | null }[];
}

export interface DecisionHistoryRow {
  requester: { name: string };
  roleName: string;
  scope: string;
  decision: "approve" | "deny";
  comment: string | null;
  at: Date;
  /** Where the request stands now, as stored: `active`, `ended`, `denied`… */
  status: string;
}

/** A day and a time in UTC, the way the history lists show when something happened. */
export const dayAndTime = (time: Date): string => `${time.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** One role's outcome in words: "granted, active until …", "denied: not today", "granted, expired …". */
export function outcomeOf(role: RequestHistoryRow["roles"][number]): string {
  const words = role.reason ? cutText(role.reason, TEXT_SHOWN, 40) : null;
  const until = role.endsAt ? ` ${dayAndTime(role.endsAt)}` : "";
  switch (role.status) {
    case "requested":
    case "activating":
      return "being granted";
    case "pending_mfa":
      return "waiting for MFA";
    case "pending_approval":
      return "waiting for approval";
    case "active":
      return `granted, active until${until}`;
    case "ending":
      return "granted, being revoked";
    case "ended":
      if (role.reason === "expired") return `granted, expired${until}`;
      if (role.reason === "revoked") return "granted, revoked by an administrator";
      if (role.reason === "deactivated") return "granted, ended early";
      if (role.reason === "superseded") return "granted, replaced by its extension";
      return "granted, ended";
    case "denied":
      return words ? `denied: ${words}` : "denied";
    case "canceled":
      return "canceled";
    case "timed_out":
      return "timed out: nobody decided in time";
    case "failed":
      return words ? `failed: ${words}` : "failed";
    default:
      return role.status.replace(/_/g, " ");
  }
}

export function requestHistoryCard(items: RequestHistoryRow[], days: number, command: string): Card {
  const header = items.length === 0 ? `No requests in the last ${days} days` : `Your requests of the last ${days} days`;
  const blocks: Block[] = [];
  if (items.length === 0)
    blocks.push({
      type: "text",
      text: ["You have asked for no role in that time. ", { code: command }, " asks for one."],
    });
  for (const item of items.slice(0, HISTORY_SHOWN)) {
    const text: Rich = [strong(dayAndTime(item.requestedAt))];
    for (const role of item.roles) text.push("\n", strong(role.roleName), ` at ${role.scope}: ${outcomeOf(role)}`);
    const why = [
      item.justification ? `Why: ${cutText(item.justification, TEXT_SHOWN, 40)}` : null,
      item.ticket ? `Ticket: ${cutText(item.ticket, 60, 40)}` : null,
    ].filter((s): s is string => s !== null);
    if (why.length > 0) text.push("\n", why.join(" · "));
    blocks.push({ type: "text", text });
  }
  if (items.length > HISTORY_SHOWN)
    blocks.push(notShown(items.length, "requests", `${command} audit export person:<you>`));
  return {
    header,
    tone: items.length === 0 ? "muted" : "info",
    summary: `${items.length} requests in ${days} days`,
    blocks,
  };
}

export function decisionHistoryCard(items: DecisionHistoryRow[], days: number, command: string): Card {
  const header =
    items.length === 0 ? `No decisions in the last ${days} days` : `Your decisions of the last ${days} days`;
  const blocks: Block[] = [];
  if (items.length === 0)
    blocks.push({
      type: "text",
      text: [
        "You have approved or denied no request in that time. ",
        { code: `${command} pending` },
        " lists those waiting for you.",
      ],
    });
  for (const item of items.slice(0, HISTORY_SHOWN)) {
    const verb = item.decision === "approve" ? "Approved" : "Denied";
    const text: Rich = [
      strong(`${verb} ${dayAndTime(item.at)}`),
      `\n${item.requester.name}: ${item.roleName} at ${item.scope} (now ${item.status.replace(/_/g, " ")})`,
    ];
    if (item.comment) text.push(`\nComment: ${cutText(item.comment, TEXT_SHOWN, 40)}`);
    blocks.push({ type: "text", text });
  }
  if (items.length > HISTORY_SHOWN)
    blocks.push(notShown(items.length, "decisions", `${command} audit export person:<you> event:approval`));
  return {
    header,
    tone: items.length === 0 ? "muted" : "info",
    summary: `${items.length} decisions in ${days} days`,
    blocks,
  };
}

/** What a history leaves out beyond HISTORY_SHOWN, and the export that has it all. */
function notShown(count: number, what: string, exportCommand: string): Block {
  return {
    type: "context",
    lines: [
      [
        `${count - HISTORY_SHOWN} more ${what} are not shown. The audit log keeps them all: an administrator or auditor can export them with `,
        { code: exportCommand },
        ".",
      ],
    ],
  };
}
