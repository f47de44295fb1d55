/**
 * `audit [filters]`: the newest audit events matching a filter, one line each, for administrators
 * and auditors; and the note that comes with an export of them.
 */
import type { Block, Card, Rich } from "./card.js";
import { cutText } from "./card.js";
import { dayAndTime } from "./history.js";

/** At most this many events on one card (Slack: 50 blocks; Teams: about 28 KB). */
export const AUDIT_SHOWN = 20;

export interface AuditEventRow {
  id: number;
  at: Date;
  event: string;
  actor: string;
  subject: string | null;
  role: string | null;
  scope: string | null;
  decision: string | null;
  data: Record<string, unknown>;
}

/** What a reader typed, said back: "person:bob event:approval since:7d". */
export type FilterSaid = string;

/** The detail worth a glance: a comment, a reason, a refusal's message. The export has the rest. */
function detailOf(row: AuditEventRow): string | null {
  for (const key of ["comment", "reason", "message", "action"]) {
    const value = row.data[key];
    if (typeof value === "string" && value.trim() !== "") return `${key}: ${cutText(value, 120, 40)}`;
  }
  return null;
}

function lineOf(row: AuditEventRow): Rich {
  const parts = [
    `by ${row.actor}`,
    row.subject && row.subject !== row.actor ? `for ${row.subject}` : null,
    row.role ? `${row.role}${row.scope ? ` at ${row.scope}` : ""}` : null,
    detailOf(row),
  ].filter((s): s is string => s !== null);
  return [{ code: row.event }, ` ${dayAndTime(row.at)} — ${parts.join(", ")}`];
}

export function auditEventsCard(rows: AuditEventRow[], more: boolean, filter: FilterSaid, command: string): Card {
  const header = rows.length === 0 ? "No audit events match" : `The newest ${rows.length} audit events`;
  const blocks: Block[] = [
    { type: "context", lines: [[filter ? `Filter: ${cutText(filter, 300, 40)}` : "No filter: every event."]] },
  ];
  if (rows.length === 0) blocks.push({ type: "text", text: ["Nothing in the audit log matches; widen the filter."] });
  // Five events to a block keep the card well inside Slack's blocks and section lengths.
  for (let i = 0; i < rows.length; i += 5) {
    const text: Rich = rows.slice(i, i + 5).flatMap((row, j) => (j > 0 ? ["\n", ...lineOf(row)] : lineOf(row)));
    blocks.push({ type: "text", text });
  }
  if (more)
    blocks.push({
      type: "context",
      lines: [
        [
          "More events match, older than these. Narrow the filter, or have them all as a CSV file with ",
          { code: `${command} audit export${filter ? ` ${filter}` : ""}` },
          ".",
        ],
      ],
    });
  return { header, tone: rows.length === 0 ? "muted" : "info", summary: header, blocks };
}
