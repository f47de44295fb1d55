import { ACTIONS } from "./action-ids.js";
import type { Block, Card } from "./card.js";
import { timeLeft } from "./card.js";

/** One role held now through an activation, as the administrators' list shows it. */
export interface ActiveRoleRow {
  activationId: string;
  holder: { name: string };
  role: { name: string };
  scope: string;
  status: "activating" | "active";
  endsAt: Date | null;
}

const SHOWN = 20;

/** `active`: everyone's roles held now; administrators get a Revoke button on each (auditors only look). */
export function activeRolesCard(
  list: { items: ActiveRoleRow[]; canRevoke: boolean },
  now: Date,
  command: string,
): Card {
  const { items } = list;
  const header =
    items.length === 0 ? "Nobody holds a role through an activation now" : `${items.length} roles held now`;
  const blocks: Block[] = [];
  if (items.length === 0) blocks.push({ type: "text", text: ["Nothing to revoke."] });
  for (const row of items.slice(0, SHOWN)) {
    const left =
      row.status === "activating"
        ? " — being granted"
        : row.endsAt
          ? ` — ${timeLeft(row.endsAt.getTime() - now.getTime())} left`
          : "";
    blocks.push({ type: "text", text: [{ strong: row.holder.name }, `: ${row.role.name} at ${row.scope}${left}`] });
    if (list.canRevoke)
      blocks.push({
        type: "buttons",
        buttons: [
          { kind: "action", action: ACTIONS.revoke, value: row.activationId, label: "Revoke", style: "danger" },
        ],
      });
  }
  if (items.length > SHOWN)
    blocks.push({ type: "context", lines: [[`…and ${items.length - SHOWN} more, newest first.`]] });
  if (list.canRevoke)
    blocks.push({
      type: "context",
      lines: [
        [{ code: `${command} revoke @person <role> <reason>` }, " revokes one directly; the holder is told why."],
      ],
    });
  return { header, tone: items.length === 0 ? "muted" : "warning", summary: header, blocks };
}
