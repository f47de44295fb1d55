import { describe, expect, it } from "vitest";
import {
  cardBytes,
  escapeMarkdown,
  MAX_CARD_BYTES,
  renderCard,
  runText,
  TRUNCATED,
} from "../../src/chat/teams/cards.js";
import { requestFormCard } from "../../src/chat/teams/form.js";
import { alertCard, engineAlert } from "../../src/chat/views/alert.js";
import type { Card } from "../../src/chat/views/card.js";
import { helpCard } from "../../src/chat/views/help.js";
import { buildRequestForm } from "../../src/chat/views/request-form.js";
import { adaptiveCardProblems } from "../support/teams/adaptive-card-check.js";
import { readCard, unescapeMarkdown } from "../support/teams/read-card.js";

type Json = Record<string, unknown>;

const EVIL =
  "[click](https://evil.example) <at>Everyone</at> **now** _x_ ~y~ `z` # h > q {{DATE(2017-02-14T06:08:39Z, SHORT)}}";

/** Every string Teams reads as markdown: TextBlock text and facts. TextRuns are never markdown. */
function markdownOf(card: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Json;
      if (o.type === "TextBlock") out.push(String(o.text));
      if (o.type === "FactSet") for (const f of o.facts as Json[]) out.push(String(f.title), String(f.value));
      for (const child of Object.values(o)) walk(child);
    }
  };
  walk(card);
  return out;
}

/** A markdown special character not preceded by a backslash: something Teams would act on. */
const UNESCAPED = /(^|[^\\])[[\]()*_~`#>!<{}]/;

describe("Teams cards: what people type is shown, never obeyed", () => {
  const card: Card = {
    header: `Approval needed: ${EVIL}`,
    tone: "waiting",
    summary: EVIL,
    blocks: [
      { type: "text", text: ["Alice asks: ", { strong: EVIL }, "\n", { code: EVIL }] },
      { type: "fields", fields: [{ label: `Ticket ${EVIL}`, value: [EVIL] }] },
      { type: "quote", label: "Justification", text: `${EVIL}\n- a list?\n1. numbered?` },
      { type: "context", lines: [[EVIL]] },
    ],
  };

  it("escapes every markdown special in markdown properties, and reads back as typed", () => {
    const rendered = renderCard(card, { view: "tracked" });
    const markdown = markdownOf(rendered);
    expect(markdown.length).toBeGreaterThan(0);
    for (const text of markdown) {
      expect(text.replace(/\\./g, "")).not.toMatch(UNESCAPED);
      expect(text).not.toContain("<at>");
    }
    expect(readCard(rendered).text).toContain(`Ticket ${EVIL}: ${EVIL}`);
    expect(adaptiveCardProblems(rendered)).toEqual([]);
  });

  it("puts free text in TextRuns (never markdown), with {{…}} functions broken apart", () => {
    const rendered = JSON.stringify(renderCard(card, { view: "tracked" }));
    expect(rendered).not.toContain("{{DATE(");
    expect(runText("{{TIME(2017-02-14T06:08:39Z)}}")).toBe("{\u200b{TIME(2017-02-14T06:08:39Z)}}");
    expect(readCard(JSON.parse(rendered)).text).toContain(EVIL.replace("{{", "{{"));
    expect(rendered).not.toContain('"entities"');
  });

  it("escapes list markers at the start of a line and undoes cleanly", () => {
    const text = "- one\n+ two\n3. three\nplain (x) [y]";
    expect(escapeMarkdown(text)).toBe("\\- one\n\\+ two\n3\\. three\nplain \\(x\\) \\[y\\]");
    expect(unescapeMarkdown(escapeMarkdown(text))).toBe(text);
  });
});

describe("Teams cards: within Teams' limits", () => {
  it("cuts an oversized card below the limit, says so, and keeps its buttons", () => {
    const huge: Card = {
      header: "Big",
      tone: "info",
      summary: "big",
      blocks: [
        ...Array.from({ length: 40 }, (_, i) => ({
          type: "quote" as const,
          label: `Quote ${i}`,
          text: "€".repeat(3_000),
        })),
        { type: "buttons", buttons: [{ kind: "action", action: "pim.approve", value: "req_1", label: "Approve" }] },
      ],
    };
    const rendered = renderCard(huge, { view: "tracked" });
    expect(cardBytes(rendered)).toBeLessThanOrEqual(MAX_CARD_BYTES);
    const read = readCard(rendered);
    expect(read.text).toContain(TRUNCATED);
    expect(read.text).toContain("more than fits in one card");
    expect(read.buttons.map((b) => b.label)).toEqual(["Approve"]);
    expect(adaptiveCardProblems(rendered)).toEqual([]);
  });

  it("draws every neutral view as a valid Adaptive Card of the declared version", () => {
    const at = new Date("2026-11-02T09:00:00Z");
    const cards: Json[] = [
      renderCard(helpCard("elevate", "Hello"), { view: "help", refreshFor: ["29:a"] }),
      renderCard(alertCard(engineAlert({ kind: "grant_failed", subject: "alice", detail: { roleId: "rol_1" } }, at)), {
        view: "tracked",
        notice: { text: ["Acknowledged."], tone: "good" },
      }),
      requestFormCard(buildRequestForm([], [])),
    ];
    for (const c of cards) expect(adaptiveCardProblems(c)).toEqual([]);
  });

  it("catches what Teams would not render: the checker is the real parser, not a list of rules", () => {
    const bad = {
      type: "AdaptiveCard",
      version: "1.5",
      body: [
        { type: "TextBlock", text: "x", colour: "red" },
        { type: "Input.Text", id: "a" },
        { type: "Input.Text", id: "a" },
        { type: "Carousel" },
      ],
    };
    expect(adaptiveCardProblems(bad)).toEqual([
      'UnknownElementType: Unknown element type "Carousel". Fallback will be used if present.',
      'DuplicateId: Duplicate Id "a".',
      "not part of Adaptive Cards 1.5: $.body[0].colour",
      "not part of Adaptive Cards 1.5: $.body[3].type",
    ]);
  });
});
