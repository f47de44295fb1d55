import type { AssignmentListRow } from "../../domain/assignment-view.js";
import { ACTIONS } from "./action-ids.js";
import { daysAgo, daysAway, onDay } from "./assignment-dates.js";
import type { Block, Button, Card, Rich } from "./card.js";
import { strong } from "./card.js";

/** Within Block Kit's 50 blocks a message: a line and a button each, a header and two notes. */
const SHOWN = 20;

/** `assignments`: what a person is eligible or active for, with Extend and Renew where they apply. */
export type { AssignmentListRow };

export function assignmentListCard(rows: AssignmentListRow[], now: Date): Card {
  if (rows.length === 0)
    return {
      header: "Your assignments",
      tone: "muted",
      summary: "You have no assignments.",
      blocks: [{ type: "text", text: ["You have no assignments, eligible or active."] }],
    };
  const shown = rows.slice(0, SHOWN);
  // Each assignment on its own line, its button (if any) right under it.
  const blocks: Block[] = shown.flatMap((r): Block[] => {
    const button = buttonFor(r);
    return [{ type: "text", text: line(r, now) }, ...(button ? [{ type: "buttons" as const, buttons: [button] }] : [])];
  });
  if (rows.length > shown.length)
    blocks.push({ type: "context", lines: [[`…and ${rows.length - shown.length} more.`]] });
  blocks.push({
    type: "context",
    lines: [["Extend from 14 days before the end; renew within 30 days after it. Administrators decide."]],
  });
  return {
    header: "Your assignments",
    tone: "info",
    summary: `${rows.length} assignment${rows.length === 1 ? "" : "s"}`,
    blocks,
  };
}

function buttonFor(r: AssignmentListRow): Button | null {
  if (!r.may) return null;
  return {
    kind: "action",
    action: r.may === "extend" ? ACTIONS.assignmentExtend : ACTIONS.assignmentRenew,
    value: r.id,
    label: `${r.may === "extend" ? "Extend" : "Renew"} ${r.roleName}`,
    style: "primary",
  };
}

function line(r: AssignmentListRow, now: Date): Rich {
  const out: Rich = [strong(r.roleName), ` at ${r.scope} — ${r.kind}`];
  if (r.viaGroup) out.push(` through ${r.viaGroup}`);
  if (r.startsAt && r.startsAt > now) out.push(`, from ${onDay(r.startsAt)}`);
  if (r.endsAt === null) out.push(", permanent");
  else if (r.endsAt > now) out.push(`, ends ${onDay(r.endsAt)} (${daysAway(r.endsAt.getTime() - now.getTime())})`);
  else out.push(`, ended ${onDay(r.endsAt)} (${daysAgo(now.getTime() - r.endsAt.getTime())})`);
  if (r.declared && r.endsAt !== null) out.push(" · declared in pim.yaml: an administrator changes it in the file");
  return out;
}
