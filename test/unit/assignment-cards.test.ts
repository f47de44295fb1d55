import { describe, expect, it } from "vitest";
import { cardToMessage } from "../../src/chat/slack/blocks.js";
import { renderCard } from "../../src/chat/teams/cards.js";
import { ACTIONS, commentField } from "../../src/chat/views/action-ids.js";
import { type AssignmentListRow, assignmentListCard } from "../../src/chat/views/assignment-list.js";
import { assignmentRequestCard } from "../../src/chat/views/assignment-request.js";
import type { Card } from "../../src/chat/views/card.js";
import { DAY } from "../../src/domain/duration.js";
import type { AssignmentRequestNotice } from "../../src/domain/notices.js";
import { checkMessage } from "../support/slack/block-limits.js";
import { adaptiveCardProblems } from "../support/teams/adaptive-card-check.js";

type Json = Record<string, unknown>;

const now = new Date("2026-11-18T09:00:00.000Z");
const HOSTILE = "<!channel> <https://evil.example|click> [x](https://evil.example) **bold**";

const request: AssignmentRequestNotice = {
  requestId: "asr_0123456789abcdef",
  request: "extend",
  status: "pending",
  requester: { id: "p1", key: "bob", name: "Bob Brown", email: null, slackId: "U0BOB", teamsId: null },
  holder: "Bob Brown",
  roleName: "Database Administrator",
  scope: "/mg/prod",
  kind: "eligible",
  currentEnd: new Date(now.getTime() + 14 * DAY),
  askedEnd: new Date(now.getTime() + 44 * DAY),
  reason: `${HOSTILE} ${"x".repeat(4_000)}`,
  requestedAt: now,
  decidedBy: null,
  decidedAt: null,
  comment: null,
  forRequester: false,
};

const onBothPlatforms = (card: Card) => ({
  slack: cardToMessage(card) as unknown as { text: string; blocks: Json[] },
  teams: renderCard(card, { view: "tracked" }),
});

describe("assignment cards", () => {
  it("a request card keeps what the requester wrote as text, within every limit, with a comment box by Approve and Deny", () => {
    const { slack, teams } = onBothPlatforms(assignmentRequestCard(request));
    expect(checkMessage(slack)).toEqual([]);
    expect(adaptiveCardProblems(teams)).toEqual([]);
    const mrkdwn = JSON.stringify(slack.blocks);
    expect(mrkdwn).not.toContain("<!channel>");
    expect(mrkdwn).not.toContain("<https://evil");
    expect(slack.blocks.some((b) => b.type === "input" && b.block_id === commentField(request.requestId))).toBe(true);
    expect(JSON.stringify(teams)).toContain(`"id":"${commentField(request.requestId)}"`);
    expect(JSON.stringify(teams)).toContain(ACTIONS.assignmentDeny);
  });

  it("a decided request card has no buttons and no comment box, and says who decided", () => {
    const decided = {
      ...request,
      status: "approved" as const,
      decidedBy: "Erin Eve",
      decidedAt: now,
      comment: HOSTILE,
    };
    const { slack, teams } = onBothPlatforms(assignmentRequestCard(decided));
    expect(checkMessage(slack)).toEqual([]);
    expect(adaptiveCardProblems(teams)).toEqual([]);
    expect(slack.blocks.some((b) => b.type === "actions" || b.type === "input")).toBe(false);
    expect(JSON.stringify(slack.blocks)).toContain("Approved by Erin Eve");
  });

  it("a long list of assignments stays within Block Kit's and Teams' limits, every button kept", () => {
    const rows: AssignmentListRow[] = Array.from({ length: 60 }, (_, i) => ({
      id: `asg_${String(i).padStart(16, "0")}`,
      roleName: `A role with a rather long name number ${i}`,
      scope: "/mg/prod/sub/billing/rg/web-frontend",
      kind: i % 2 === 0 ? "eligible" : "active",
      viaGroup: i % 3 === 0 ? "Database Administrators" : null,
      startsAt: null,
      endsAt: new Date(now.getTime() + (i % 2 === 0 ? 10 : -10) * DAY),
      declared: i % 5 === 0,
      may: i % 5 === 0 ? null : i % 2 === 0 ? "extend" : "renew",
    }));
    const card = assignmentListCard(rows, now);
    const { slack, teams } = onBothPlatforms(card);
    expect(checkMessage(slack)).toEqual([]);
    expect(adaptiveCardProblems(teams)).toEqual([]);
    const buttons = card.blocks.flatMap((b) => (b.type === "buttons" ? b.buttons : []));
    expect(buttons).toHaveLength(16);
    expect(JSON.stringify(slack.blocks)).toContain("…and 40 more.");
  });
});
