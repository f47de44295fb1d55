import type { AlertKind } from "../../domain/notices.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Card, PersonRef, Rich, Tone } from "./card.js";

export type Severity = "low" | "medium" | "high";

/** A security alert or notice as the alert channel shows it; anything may post one. */
export interface AlertView {
  /** A stable id when the alert can be acknowledged or updated later; null for one-off notices. */
  id: string | null;
  severity: Severity;
  title: string;
  /** One or two sentences of what happened; plain text. */
  text: string;
  fields: { label: string; value: string }[];
  at: Date;
  /** Show an Acknowledge button (only when something handles it). */
  acknowledgeable: boolean;
  acknowledgedBy?: { person: PersonRef; at: Date } | null;
  resolvedAt?: Date | null;
}

const TONE: Record<Severity, Tone> = { low: "info", medium: "warning", high: "danger" };

export function alertCard(alert: AlertView): Card {
  const blocks: Block[] = [{ type: "text", text: [alert.text] }];
  if (alert.fields.length > 0)
    blocks.push({ type: "fields", fields: alert.fields.map((f) => ({ label: f.label, value: [f.value] })) });
  const status: Rich = [`Severity ${alert.severity} · raised at `, { time: alert.at }];
  if (alert.acknowledgedBy)
    status.push(" · acknowledged by ", { person: alert.acknowledgedBy.person }, " at ", {
      time: alert.acknowledgedBy.at,
    });
  if (alert.resolvedAt) status.push(" · resolved at ", { time: alert.resolvedAt });
  if (alert.id && alert.acknowledgeable && !alert.acknowledgedBy && !alert.resolvedAt)
    blocks.push({
      type: "buttons",
      buttons: [{ kind: "action", action: ACTIONS.acknowledge, value: alert.id, label: "Acknowledge" }],
    });
  blocks.push({ type: "context", lines: [status] });
  return {
    header: `${alert.severity === "high" ? "Alert" : "Notice"}: ${alert.title}`,
    tone: alert.resolvedAt ? "muted" : TONE[alert.severity],
    summary: `${alert.title}: ${alert.text}`,
    blocks,
  };
}

/** Kinds added later fall back to a generic medium notice. */
const ENGINE_ALERTS: Partial<Record<AlertKind, { severity: Severity; title: string }>> = {
  break_glass_used: { severity: "high", title: "Break-glass account used" },
  unauthorized_approval: { severity: "high", title: "Unauthorized approval attempt" },
  grant_failed: { severity: "high", title: "A grant failed" },
  revoke_failing: { severity: "high", title: "A revoke keeps failing" },
  target_failing: { severity: "high", title: "A connector target is not answering" },
  active_assignment_used: { severity: "medium", title: "Active assignment in force" },
  mfa_failures: { severity: "medium", title: "Repeated MFA failures" },
  assigned_outside_pim: { severity: "high", title: "Role assigned outside PIM" },
};

/** The engine's own alert events, drawn generically until the alerts module gives them ids. */
export function engineAlert(
  event: { kind: AlertKind; subject: string; detail: Record<string, unknown> },
  at: Date,
): AlertView {
  const known = ENGINE_ALERTS[event.kind] ?? { severity: "medium" as const, title: event.kind };
  return {
    id: null,
    severity: known.severity,
    title: known.title,
    text: `${known.title} (${event.subject}).`,
    fields: Object.entries(event.detail)
      .filter(([, v]) => v !== null && v !== undefined)
      .slice(0, 10)
      .map(([key, value]) => ({
        label: labelOf(key),
        value: typeof value === "string" ? value : JSON.stringify(value),
      })),
    at,
    acknowledgeable: false,
  };
}

/** "activationId" → "Activation id", so raw detail keys read as labels. */
function labelOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
