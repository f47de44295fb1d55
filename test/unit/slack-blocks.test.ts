import { describe, expect, it } from "vitest";
import {
  cardToMessage,
  escapeText,
  inlineToMrkdwn,
  renderBlock,
  TRUNCATED,
  truncateMrkdwn,
} from "../../src/chat/slack/blocks.js";
import { ACTIONS } from "../../src/chat/views/action-ids.js";
import type { Button, Card } from "../../src/chat/views/card.js";
import { checkMessage } from "../support/slack/block-limits.js";

describe("Block Kit rendering", () => {
  it("escapes Slack's control characters and nothing else", () => {
    expect(escapeText("<!channel> & <https://x|y> *b* _i_")).toBe("&lt;!channel&gt; &amp; &lt;https://x|y&gt; *b* _i_");
  });

  it("writes mentions only for well-formed member ids, and dates with an HH:MM UTC fallback", () => {
    expect(inlineToMrkdwn({ person: { name: "Bob", slackId: "U0BOB" } })).toBe("<@U0BOB>");
    expect(inlineToMrkdwn({ person: { name: "Eve <!here>", slackId: "U0X> <!here" } })).toBe("Eve &lt;!here&gt;");
    expect(inlineToMrkdwn({ time: new Date("2026-11-02T10:42:30Z") })).toBe(
      `<!date^${Date.parse("2026-11-02T10:42:30Z") / 1000}^{time}|10:42 UTC>`,
    );
  });

  it("cuts long text with a marker and never inside an escape, a token or an emoji", () => {
    const entity = truncateMrkdwn(`${"a".repeat(2984)}&amp;${"b".repeat(100)}`, 3000);
    expect(entity).toBe(`${"a".repeat(2984)}${TRUNCATED}`);
    const token = truncateMrkdwn(`${"a".repeat(2980)}<@U0BOB>${"b".repeat(100)}`, 3000);
    expect(token).toBe(`${"a".repeat(2980)}${TRUNCATED}`);
    const emoji = truncateMrkdwn(`${"a".repeat(2986)}😀${"b".repeat(100)}`, 3000);
    expect(emoji).toBe(`${"a".repeat(2986)}${TRUNCATED}`);
    expect(truncateMrkdwn("short", 3000)).toBe("short");
  });

  it("keeps a card with 5,000 characters of user text within every limit", () => {
    const card: Card = {
      header: "H".repeat(400),
      tone: "waiting",
      summary: "S".repeat(5000),
      blocks: [
        { type: "quote", label: "Justification", text: "<&>".repeat(1700) },
        {
          type: "fields",
          fields: Array.from({ length: 13 }, (_, i) => ({ label: `F${i}`, value: ["v".repeat(2500)] })),
        },
        { type: "context", lines: Array.from({ length: 12 }, () => ["c".repeat(3500)]) },
      ],
    };
    const message = cardToMessage(card);
    expect(checkMessage(message)).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain(TRUNCATED);
  });

  it("splits more than 25 buttons over several blocks and numbers repeated action ids", () => {
    const buttons: Button[] = Array.from({ length: 30 }, (_, i) => ({
      kind: "action",
      action: ACTIONS.endNow,
      value: `act_${i}`,
      label: `End ${i}`,
    }));
    const blocks = renderBlock({ type: "buttons", buttons });
    expect(blocks).toHaveLength(2);
    expect(checkMessage({ text: "x", blocks })).toEqual([]);
    const ids = (blocks[0] as { elements: { action_id: string }[] }).elements.map((e) => e.action_id);
    expect(ids.slice(0, 3)).toEqual(["pim.end", "pim.end:1", "pim.end:2"]);
  });

  it("replaces blocks beyond a message's 50 with one line saying so", () => {
    const card: Card = {
      header: "Many",
      tone: "info",
      summary: "many",
      blocks: Array.from({ length: 80 }, (_, i) => ({ type: "text" as const, text: [`line ${i}`] })),
    };
    const message = cardToMessage(card);
    expect(message.blocks).toHaveLength(50);
    expect(checkMessage(message)).toEqual([]);
  });
});

describe("the limits checker itself", () => {
  it("reports what Slack would refuse", () => {
    const problems = checkMessage({
      text: "x",
      blocks: [
        { type: "header", text: { type: "plain_text", text: "h".repeat(151) } },
        { type: "section", text: { type: "mrkdwn", text: "" } },
        {
          type: "actions",
          elements: [
            { type: "button", action_id: "a", text: { type: "plain_text", text: "ok" }, value: "1" },
            { type: "button", action_id: "a", text: { type: "plain_text", text: "ok" }, value: "2" },
          ],
        },
        ...Array.from({ length: 50 }, () => ({ type: "divider" })),
      ],
    });
    expect(problems).toEqual([
      "/blocks: 53 blocks, at most 50 allowed in a message",
      "/blocks/0/text/text: 151 characters, at most 150",
      "/blocks/1/text/text: must not be empty",
      "/blocks/2/elements/1/action_id: duplicate action_id a in one block",
    ]);
  });
});
