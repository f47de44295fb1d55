import type { RequestView } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Button, Card, Rich } from "./card.js";
import { roleAtScope, roleStatus } from "./request-parts.js";

/** `/elevate status`: what I hold now, with time left, and what I am waiting for. */
export function statusCard(requests: RequestView[], now: Date): Card {
  const holding = requests.flatMap((v) =>
    v.roles.filter((r) => r.status === "active" || r.status === "activating").map((r) => ({ v, r })),
  );
  const waiting = requests.flatMap((v) =>
    v.roles.filter((r) => r.status === "pending_mfa" || r.status === "pending_approval").map((r) => ({ v, r })),
  );
  const blocks: Block[] = [];
  if (holding.length === 0 && waiting.length === 0) {
    blocks.push({ type: "text", text: ["You hold no privileged role and have no pending request."] });
  }
  if (holding.length > 0) {
    blocks.push({ type: "text", text: [{ strong: "Active" }] });
    for (const { r } of holding.slice(0, 10)) {
      const buttons: Button[] = [];
      if (r.status === "active" && r.allowEarlyDeactivation)
        buttons.push({
          kind: "action",
          action: ACTIONS.endNow,
          value: r.activationId,
          label: "End now",
          style: "danger",
        });
      if (r.status === "active")
        buttons.push({ kind: "action", action: ACTIONS.extend, value: r.activationId, label: "Extend" });
      blocks.push({ type: "text", text: [...roleAtScope(r), " — ", ...roleStatus(r, now)] });
      if (buttons.length > 0) blocks.push({ type: "buttons", buttons });
    }
  }
  if (waiting.length > 0) {
    blocks.push({ type: "divider" }, { type: "text", text: [{ strong: "Pending" }] });
    const seen = new Set<string>();
    for (const { v, r } of waiting.slice(0, 10)) {
      const line: Rich = [...roleAtScope(r), " — ", ...roleStatus(r, now)];
      blocks.push({ type: "text", text: line });
      if (seen.has(v.requestId)) continue;
      seen.add(v.requestId);
      blocks.push({
        type: "buttons",
        buttons: [{ kind: "action", action: ACTIONS.cancel, value: v.requestId, label: "Cancel request" }],
      });
    }
  }
  return {
    header: "Your privileged access",
    tone: holding.length > 0 ? "success" : "info",
    summary: `${holding.length} active, ${waiting.length} pending`,
    blocks,
  };
}
