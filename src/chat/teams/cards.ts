/**
 * Neutral cards → Adaptive Cards. Lines of the card become RichTextBlocks of TextRuns, which
 * Adaptive Cards never parse as markdown, so what a person typed (a justification, a comment, a
 * name) can never format, link or mention; the few properties that are markdown (TextBlock text,
 * facts) get `escapeMarkdown`. Every card is cut to Teams' size limit with a visible marker.
 */
import { ACTIONS, commentField } from "../views/action-ids.js";
import type { Block, Button, Card, Inline, Rich, Tone } from "../views/card.js";
import { clock, cutText, plainText, TRUNCATED } from "../views/card.js";

export type Json = Record<string, unknown>;

/** The schema version every card declares: Universal Actions (Action.Execute, refresh) need 1.4+, Teams documents 1.5. */
export const CARD_VERSION = "1.5";
export const CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
/** Teams refuses a message over about 28 KB; the card gets this much, the activity around it the rest. */
export const MAX_CARD_BYTES = 26_000;
/** Teams shows at most six buttons in a row of actions. */
const ACTIONS_PER_SET = 6;
const QUOTE_MAX = 3_000;
const SHRUNK_TEXT = 500;

export { TRUNCATED };
/** The refresh verb: Teams asks for the card as it is now whenever someone views it. */
export const REFRESH_VERB = "pim.refresh";

/**
 * Which screen a card is, stamped on its buttons so a click can redraw the card it came from:
 * `tracked` cards are kept current by the notifier (chat_messages), the others are replies.
 */
export type CardView =
  | "tracked"
  | "status"
  | "pending"
  | "roles"
  | "help"
  | "active"
  | "assignments"
  | "form"
  | "extend"
  | "note";

export interface RenderOptions {
  view: CardView;
  /** Who gets the card redrawn for them when they look at it (Teams user ids, at most 60); null: no refresh. */
  refreshFor?: string[] | null;
  /** A line shown above everything else: what just happened ("Already approved by …"), or an error. */
  notice?: { text: Rich; tone: "good" | "attention" | "warning" | "default" } | null;
}

const CONTAINER_STYLE: Record<Tone, string> = {
  info: "accent",
  waiting: "accent",
  success: "good",
  danger: "attention",
  warning: "warning",
  muted: "emphasis",
};

/** Backslash-escapes what Teams' markdown would act on, and `<`/`{` so no `<at>` tag or `{{DATE()}}` survives. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_~[\]()#>!<{}|]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([-+])(?=\s)/gm, "$1\\$2")
    .replace(/^(\s*\d+)\.(?=\s)/gm, "$1\\.");
}

/** TextRuns are never markdown, but Teams still expands `{{DATE(…)}}` in them: break the braces apart. */
export function runText(text: string): string {
  return stripControls(text.replace(/\{\{/g, "{\u200b{"));
}

/** Control characters other than tab and newlines: invisible, and some clients refuse them. */
function stripControls(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code >= 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) out += ch;
  }
  return out;
}

/** Cuts text to `max` characters with a marker, never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  return cutText(text, max, 40);
}

function textRun(piece: Inline, extra: Json = {}): Json {
  if (typeof piece === "string") return { type: "TextRun", text: runText(piece), ...extra };
  if ("strong" in piece) return { type: "TextRun", text: runText(piece.strong), weight: "bolder", ...extra };
  if ("person" in piece) return { type: "TextRun", text: runText(piece.person.name), ...extra };
  if ("time" in piece) return { type: "TextRun", text: clock(piece.time), ...extra };
  return { type: "TextRun", text: runText(piece.code), fontType: "monospace", ...extra };
}

/** A line of pieces split at its newlines: one RichTextBlock per line, so every client breaks them alike. */
export function richBlocks(rich: Rich, extra: Json = {}, runExtra: Json = {}): Json[] {
  const lines: Inline[][] = [[]];
  for (const piece of rich) {
    if (typeof piece !== "string" || !piece.includes("\n")) {
      lines.at(-1)!.push(piece);
      continue;
    }
    piece.split("\n").forEach((part, i) => {
      if (i > 0) lines.push([]);
      if (part) lines.at(-1)!.push(part);
    });
  }
  return lines
    .filter((line) => line.length > 0)
    .map((line, i) => ({
      type: "RichTextBlock",
      inlines: line.map((p) => textRun(p, runExtra)),
      ...(i > 0 ? { spacing: "none" } : {}),
      ...extra,
    }));
}

export function textBlock(text: string, extra: Json = {}): Json {
  return { type: "TextBlock", text: escapeMarkdown(text), wrap: true, ...extra };
}

function quoteBlocks(label: string, text: string): Json[] {
  return [
    {
      type: "Container",
      style: "emphasis",
      items: [textBlock(label, { weight: "bolder", size: "small" }), ...richBlocks([truncate(text, QUOTE_MAX)])],
    },
  ];
}

function factSet(block: Extract<Block, { type: "fields" }>): Json {
  return {
    type: "FactSet",
    facts: block.fields.map((f) => ({
      title: escapeMarkdown(truncate(f.label, 200)),
      value: escapeMarkdown(truncate(plainText(f.value), 1_000)),
    })),
  };
}

/** One button as an action: Universal Actions (`Action.Execute`) carry only the verb, a value and the card's view. */
export function actionOf(button: Button, view: CardView): Json {
  if (button.kind === "link")
    return {
      type: "Action.OpenUrl",
      title: truncate(button.label, 80),
      url: button.url,
      ...(button.style ? { style: "positive" } : {}),
    };
  return {
    type: "Action.Execute",
    title: truncate(button.label, 80),
    verb: button.action,
    data: { value: button.value, view },
    ...(button.style === "primary" ? { style: "positive" } : button.style === "danger" ? { style: "destructive" } : {}),
  };
}

/** The id of the comment box next to a request's Deny button (several may share a card: the pending list). */
export const commentInputId = commentField;

function buttonBlocks(buttons: Button[], view: CardView): Json[] {
  const out: Json[] = [];
  const deny = buttons.find(
    (b) => b.kind === "action" && (b.action === ACTIONS.deny || b.action === ACTIONS.assignmentDeny),
  );
  if (deny && deny.kind === "action")
    out.push({
      type: "Input.Text",
      id: commentInputId(deny.value),
      label:
        deny.action === ACTIONS.deny
          ? "Comment (the requester sees it; required to deny)"
          : "Comment (optional; the requester sees it)",
      isMultiline: true,
      maxLength: 1_000,
      placeholder: "Why approve or deny?",
    });
  for (let i = 0; i < buttons.length; i += ACTIONS_PER_SET)
    out.push({ type: "ActionSet", actions: buttons.slice(i, i + ACTIONS_PER_SET).map((b) => actionOf(b, view)) });
  return out;
}

export function renderBlock(block: Block, view: CardView): Json[] {
  switch (block.type) {
    case "text":
      return richBlocks(block.text);
    case "quote":
      return quoteBlocks(block.label, block.text);
    case "fields":
      return block.fields.length > 0 ? [factSet(block)] : [];
    case "buttons":
      return block.buttons.length > 0 ? buttonBlocks(block.buttons, view) : [];
    case "context":
      return block.lines.flatMap((line) => richBlocks(line, {}, { isSubtle: true, size: "small" }));
    case "divider":
      return [];
    default: {
      const never: never = block;
      return never;
    }
  }
}

function renderBody(blocks: Block[], view: CardView): Json[] {
  const body: Json[] = [];
  let separate = false;
  for (const block of blocks) {
    if (block.type === "divider") {
      separate = true;
      continue;
    }
    const rendered = renderBlock(block, view);
    if (separate && rendered[0]) rendered[0] = { ...rendered[0], separator: true, spacing: "medium" };
    if (rendered.length > 0) separate = false;
    body.push(...rendered);
  }
  return body;
}

export function headerOf(card: Pick<Card, "header" | "tone">): Json {
  return {
    type: "Container",
    style: CONTAINER_STYLE[card.tone],
    bleed: true,
    items: richBlocks([truncate(card.header, 200)], {}, { size: "medium", weight: "bolder" }),
  };
}

export function noticeBlocks(notice: NonNullable<RenderOptions["notice"]>): Json[] {
  return richBlocks(notice.text, {}, notice.tone === "default" ? {} : { color: notice.tone, weight: "bolder" });
}

export function adaptiveCard(body: Json[], extra: Json = {}): Json {
  return {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: CARD_VERSION,
    body,
    ...extra,
  };
}

/** A refresh clause: Teams calls back with REFRESH_VERB when one of these users looks at the card. */
export function refreshOf(view: CardView, userIds: string[]): Json {
  return {
    refresh: {
      action: { type: "Action.Execute", title: "Refresh", verb: REFRESH_VERB, data: { view } },
      userIds: userIds.slice(0, 60),
    },
  };
}

/** A neutral card as an Adaptive Card, within Teams' size limit. */
export function renderCard(card: Card, opts: RenderOptions): Json {
  const body = [
    headerOf(card),
    ...(opts.notice ? noticeBlocks(opts.notice) : []),
    ...renderBody(card.blocks, opts.view),
  ];
  const extra = opts.refreshFor ? refreshOf(opts.view, opts.refreshFor) : {};
  return fitCard(adaptiveCard(body, { ...extra, fallbackText: escapeMarkdown(truncate(card.summary, 500)) }));
}

export const cardBytes = (card: Json) => Buffer.byteLength(JSON.stringify(card), "utf8");

/**
 * Brings a card under MAX_CARD_BYTES: long texts are cut first (user text is what grows), then
 * trailing elements give way to one line saying more did not fit. Buttons and inputs stay as long as possible.
 */
export function fitCard(card: Json): Json {
  if (cardBytes(card) <= MAX_CARD_BYTES) return card;
  const shrunk = mapTexts(card, (t) => truncate(t, SHRUNK_TEXT)) as Json;
  if (cardBytes(shrunk) <= MAX_CARD_BYTES) return shrunk;
  const body = [...((shrunk.body as Json[]) ?? [])];
  const more = textBlock("…more than fits in one card; the rest was left out.", { isSubtle: true });
  const isControl = (e: Json) => e.type === "ActionSet" || String(e.type).startsWith("Input.");
  while (body.length > 1 && cardBytes({ ...shrunk, body: [...body, more] }) > MAX_CARD_BYTES) {
    const last = body.map(isControl).lastIndexOf(false);
    body.splice(last > 0 ? last : body.length - 1, 1);
  }
  return { ...shrunk, body: [...body, more] };
}

function mapTexts(value: unknown, cut: (t: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapTexts(v, cut));
  if (!value || typeof value !== "object") return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json))
    out[k] = (k === "text" || k === "value") && typeof v === "string" ? cut(v) : mapTexts(v, cut);
  return out;
}

/** The attachment a message activity carries. */
export function cardAttachment(card: Json): { contentType: string; content: Json } {
  return { contentType: CARD_CONTENT_TYPE, content: card };
}
