import type { AlertRecord } from "../../domain/notices.js";
import type { AlertView } from "./alert.js";
import type { Card } from "./card.js";
import { personRef } from "./request-parts.js";

/** A stored alert as the alert channel shows it: with its Acknowledge button until someone has. */
export function alertViewOf(alert: AlertRecord): AlertView {
  return {
    id: alert.id,
    severity: alert.severity,
    title: alert.title,
    text: alert.text,
    fields: alert.fields.slice(0, 10),
    at: alert.openedAt,
    acknowledgeable: true,
    acknowledgedBy:
      alert.acknowledgedBy && alert.acknowledgedAt
        ? { person: personRef(alert.acknowledgedBy), at: alert.acknowledgedAt }
        : null,
    resolvedAt: alert.resolvedAt,
  };
}

/** When one evaluation opens more alerts of a rule than are worth a card each. */
export function alertOverflowCard(o: { title: string; rule: string; count: number; at: Date }): Card {
  const text = `${o.count} more alerts of this kind were opened. The alerts API (GET /api/alerts) lists them all.`;
  return {
    header: `Notice: ${o.title} (${o.count} more)`,
    tone: "warning",
    summary: `${o.title}: ${o.count} more`,
    blocks: [
      { type: "text", text: [text] },
      { type: "context", lines: [[`Rule ${o.rule} · raised at `, { time: o.at }]] },
    ],
  };
}
