/**
 * Neutral cards → Block Kit. Every piece of text passes through `escapeText`, so what a person
 * typed (a justification, a comment, a name) can never mention a channel, forge a link or break
 * the message; and every text is cut to Slack's limits with a visible marker, so Slack never
 * rejects a card because someone wrote a lot.
 */
import type { types } from "@slack/bolt";
import { ACTIONS, commentField, FIELDS } from "../views/action-ids.js";
import type { Block, Button, Card, Inline, Rich, Tone } from "../views/card.js";
import { clock, cutText, TRUNCATED, wholeCharacters } from "../views/card.js";

type KnownBlock = types.KnownBlock;
type ActionsBlockElement = types.ActionsBlockElement;

/** Block Kit's documented limits (docs.slack.dev "Block Kit" reference pages). */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  optionText: 75,
  optionValue: 150,
  staticOptions: 100,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  messageText: 4000,
} as const;

export { TRUNCATED };

/** Slack's three control characters; everything else in mrkdwn is shown as written. */
export function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Cuts mrkdwn to `max` characters with a marker, never inside an escape (`&amp;`), a special
 * token (`<@U123>`, `<!date^…>`) or a surrogate pair, so what remains is still valid.
 */
export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - TRUNCATED.length;
  const open = text.lastIndexOf("<", cut);
  if (open >= 0 && text.indexOf(">", open) >= cut) cut = open;
  const amp = text.lastIndexOf("&", cut);
  if (amp >= 0 && cut - amp < 6 && !text.slice(amp, cut).includes(";")) cut = amp;
  return `${text.slice(0, wholeCharacters(text, cut))}${TRUNCATED}`;
}

/** Plain text (headers, buttons, options): not parsed for mentions, only cut to length. */
export function truncatePlain(text: string, max: number): string {
  return cutText(text, max, 20);
}

export function inlineToMrkdwn(piece: Inline): string {
  if (typeof piece === "string") return escapeText(piece);
  if ("strong" in piece) return piece.strong.trim() ? `*${escapeText(piece.strong)}*` : "";
  if ("person" in piece)
    return piece.person.slackId && /^[UW][A-Z0-9]+$/.test(piece.person.slackId)
      ? `<@${piece.person.slackId}>`
      : escapeText(piece.person.name);
  if ("time" in piece) return `<!date^${Math.floor(piece.time.getTime() / 1000)}^{time}|${clock(piece.time)}>`;
  return `\`${escapeText(piece.code.replace(/`/g, "'"))}\``;
}

export const richToMrkdwn = (rich: Rich): string => rich.map(inlineToMrkdwn).join("");

const TONE_EMOJI: Record<Tone, string> = {
  info: ":information_source:",
  waiting: ":hourglass_flowing_sand:",
  success: ":white_check_mark:",
  danger: ":no_entry:",
  warning: ":warning:",
  muted: ":white_circle:",
};

export function mrkdwn(text: string, max: number = LIMITS.sectionText): types.MrkdwnElement {
  return { type: "mrkdwn", text: truncateMrkdwn(text || " ", max), verbatim: true };
}

export function plain(text: string, max: number): types.PlainTextElement {
  return { type: "plain_text", text: truncatePlain(text || " ", max), emoji: true };
}

/** A quote of what a person wrote: each line behind ">", escaped, cut to the section limit. */
function quote(label: string, text: string): string {
  const body = escapeText(text)
    .split(/\r?\n/)
    .map((line) => `>${line}`)
    .join("\n");
  return `*${escapeText(label)}*\n${body}`;
}

function buttonElement(button: Button, actionId: string): types.Button {
  const text = plain(button.label, LIMITS.buttonText);
  if (button.kind === "link") {
    return {
      type: "button",
      action_id: actionId,
      text,
      url: button.url.slice(0, LIMITS.buttonUrl),
      ...(button.style ? { style: button.style } : {}),
    };
  }
  return {
    type: "button",
    action_id: actionId,
    text,
    value: button.value.slice(0, LIMITS.buttonValue),
    ...(button.style ? { style: button.style } : {}),
  };
}

/** Link buttons still send an interaction to the app; this id is acknowledged and ignored. */
export const LINK_ACTION = "pim.link";

/** Action ids must be unique within a block: the second "End now" becomes `pim.end:1`. */
function actionsBlocks(buttons: Button[]): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  const deny = buttons.find(
    (b) => b.kind === "action" && (b.action === ACTIONS.deny || b.action === ACTIONS.assignmentDeny),
  );
  // An approver may say why they approve or deny, in the box next to the buttons (read when they click).
  if (deny?.kind === "action")
    blocks.push({
      type: "input",
      block_id: commentField(deny.value),
      optional: true,
      label: plain("Comment (the requester sees it)", LIMITS.inputLabel),
      element: {
        type: "plain_text_input",
        action_id: FIELDS.comment,
        multiline: true,
        max_length: 1000,
        placeholder: plain("Why approve or deny?", LIMITS.placeholder),
      },
    });
  for (let i = 0; i < buttons.length; i += LIMITS.actionsElements) {
    const used = new Map<string, number>();
    const elements: ActionsBlockElement[] = buttons.slice(i, i + LIMITS.actionsElements).map((b) => {
      const base = b.kind === "link" ? LINK_ACTION : b.action;
      const n = used.get(base) ?? 0;
      used.set(base, n + 1);
      return buttonElement(b, n === 0 ? base : `${base}:${n}`);
    });
    blocks.push({ type: "actions", elements });
  }
  return blocks;
}

export function renderBlock(block: Block): KnownBlock[] {
  switch (block.type) {
    case "text":
      return [{ type: "section", text: mrkdwn(richToMrkdwn(block.text)) }];
    case "quote":
      return [{ type: "section", text: mrkdwn(quote(block.label, block.text)) }];
    case "fields": {
      const out: KnownBlock[] = [];
      for (let i = 0; i < block.fields.length; i += LIMITS.sectionFields) {
        out.push({
          type: "section",
          fields: block.fields
            .slice(i, i + LIMITS.sectionFields)
            .map((f) => mrkdwn(`*${escapeText(f.label)}*\n${richToMrkdwn(f.value)}`, LIMITS.fieldText)),
        });
      }
      return out;
    }
    case "buttons":
      return block.buttons.length > 0 ? actionsBlocks(block.buttons) : [];
    case "context":
      return block.lines.length > 0
        ? [
            {
              type: "context",
              elements: block.lines
                .slice(0, LIMITS.contextElements)
                .map((line) => mrkdwn(richToMrkdwn(line), LIMITS.contextText)),
            },
          ]
        : [];
    case "divider":
      return [{ type: "divider" }];
    default: {
      const never: never = block;
      return never;
    }
  }
}

/** Renders blocks within a budget; what does not fit is replaced by one line saying so. */
export function renderBlocks(blocks: Block[], maxBlocks: number): KnownBlock[] {
  const out = blocks.flatMap(renderBlock);
  if (out.length <= maxBlocks) return out;
  return [
    ...out.slice(0, maxBlocks - 1),
    { type: "context", elements: [mrkdwn("…more than fits here; the home tab shows everything.")] },
  ];
}

export function headerBlock(card: Pick<Card, "header" | "tone">): KnownBlock {
  return { type: "header", text: plain(`${TONE_EMOJI[card.tone]} ${card.header}`, LIMITS.headerText) };
}

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** A card as a Slack message: the summary as notification text, the header and blocks below it. */
export function cardToMessage(card: Card): SlackMessage {
  return {
    text: truncateMrkdwn(escapeText(card.summary), LIMITS.messageText),
    blocks: [headerBlock(card), ...renderBlocks(card.blocks, LIMITS.messageBlocks - 1)],
  };
}
