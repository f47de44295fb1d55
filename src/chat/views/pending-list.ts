import { formatDuration } from "../../domain/duration.js";
import type { RequestView } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Card } from "./card.js";
import { personRef, roleNames } from "./request-parts.js";

const SHOWN = 10;

/** `/elevate pending` and the approver's queue on the home tab: requests waiting for me. */
export function pendingBlocks(requests: RequestView[]): Block[] {
  if (requests.length === 0) return [{ type: "text", text: ["Nothing is waiting for your decision."] }];
  const blocks: Block[] = [];
  for (const v of requests.slice(0, SHOWN)) {
    blocks.push({
      type: "text",
      text: [
        { person: personRef(v.requester) },
        " asks for ",
        { strong: roleNames(v) },
        ` at ${[...new Set(v.roles.map((r) => r.scope))].join(", ")} for ${formatDuration(v.durationMs)}`,
        ...(v.ticket ? [` · ${v.ticket}`] : []),
        " · requested at ",
        { time: v.requestedAt },
      ],
    });
    if (v.justification) blocks.push({ type: "quote", label: "Justification", text: v.justification });
    blocks.push({
      type: "buttons",
      buttons: [
        { kind: "action", action: ACTIONS.approve, value: v.requestId, label: "Approve", style: "primary" },
        { kind: "action", action: ACTIONS.deny, value: v.requestId, label: "Deny", style: "danger" },
      ],
    });
  }
  if (requests.length > SHOWN)
    blocks.push({ type: "context", lines: [[`…and ${requests.length - SHOWN} more, oldest last.`]] });
  return blocks;
}

export function pendingListCard(requests: RequestView[]): Card {
  return {
    header: requests.length === 0 ? "Nothing waiting for you" : `${requests.length} waiting for your decision`,
    tone: requests.length === 0 ? "muted" : "waiting",
    summary: `${requests.length} requests waiting for your decision`,
    blocks: pendingBlocks(requests),
  };
}
