/**
 * A platform-neutral message: what to say, never how a platform draws it. Slack renders it as
 * Block Kit, Teams as an Adaptive Card. Every string in here is plain text: renderers escape it,
 * so text that came from a person (a justification, a comment) can never format, mention or link.
 */
import type { ActionId } from "./action-ids.js";

export type Tone = "info" | "waiting" | "success" | "danger" | "warning" | "muted";

/** Someone shown by name; renderers mention them when the platform knows who they are. */
export interface PersonRef {
  name: string;
  slackId?: string | null;
  teamsId?: string | null;
}

/** A piece of a line: plain text, or text with a meaning the platform can show better. */
export type Inline = string | { strong: string } | { person: PersonRef } | { time: Date } | { code: string };

/** One line or paragraph, made of pieces. */
export type Rich = Inline[];

export interface Field {
  label: string;
  value: Rich;
}

export type Button =
  | { kind: "action"; action: ActionId; value: string; label: string; style?: "primary" | "danger" }
  | { kind: "link"; url: string; label: string; style?: "primary" };

export type Block =
  | { type: "text"; text: Rich }
  | { type: "fields"; fields: Field[] }
  /** Text a person wrote, shown as a quote under a label; renderers truncate it, never reject it. */
  | { type: "quote"; label: string; text: string }
  | { type: "buttons"; buttons: Button[] }
  | { type: "context"; lines: Rich[] }
  | { type: "divider" };

export interface Card {
  header: string;
  tone: Tone;
  /** A one-line plain summary for notifications and screen readers. */
  summary: string;
  blocks: Block[];
}

export const strong = (text: string): Inline => ({ strong: text });
export const who = (p: PersonRef): Inline => ({ person: p });
export const at = (time: Date): Inline => ({ time });
export const code = (text: string): Inline => ({ code: text });

/** "a, b and c" with pieces that may be people or times. */
export function listOf(items: Inline[], last = "and"): Rich {
  const out: Rich = [];
  items.forEach((item, i) => {
    if (i > 0) out.push(i === items.length - 1 ? ` ${last} ` : ", ");
    out.push(item);
  });
  return out;
}

/** The plain text of a line, as a person reads it without formatting (for summaries and tests). */
export function plainText(rich: Rich): string {
  return rich
    .map((piece) => {
      if (typeof piece === "string") return piece;
      if ("strong" in piece) return piece.strong;
      if ("person" in piece) return piece.person.name;
      if ("time" in piece) return clock(piece.time);
      return piece.code;
    })
    .join("");
}

/** HH:MM in UTC, the way every card shows a time; renderers may localise it and keep this as fallback. */
export function clock(time: Date): string {
  return `${time.toISOString().slice(11, 16)} UTC`;
}

/** Time left, rounded down to minutes: "1h 59m", "12m", "less than a minute". */
export function timeLeft(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m}m`;
  return m === 0 ? `${h}h` : `${h}h ${m}m`;
}

/** What a text cut to a platform's limit ends with, so the reader knows there was more. */
export const TRUNCATED = "… (truncated)";

/** A cut position moved back one when it would split a surrogate pair (an emoji cut in half). */
export function wholeCharacters(text: string, cut: number): number {
  const code = text.charCodeAt(cut - 1);
  return code >= 0xd800 && code <= 0xdbff ? cut - 1 : cut;
}

/** Cuts plain text to `max` characters with TRUNCATED, or a bare "…" where there is room for less than `roomy`. */
export function cutText(text: string, max: number, roomy: number): string {
  if (text.length <= max) return text;
  const marker = max >= roomy ? TRUNCATED : "…";
  return `${text.slice(0, wholeCharacters(text, Math.max(0, max - marker.length)))}${marker}`;
}
