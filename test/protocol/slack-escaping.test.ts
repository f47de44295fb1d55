import { afterEach, beforeEach, expect, it } from "vitest";
import { getRequestView } from "../../src/app/activation/views.js";
import { TRUNCATED } from "../../src/chat/slack/blocks.js";
import { approvalCard } from "../../src/chat/views/approval-card.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { describeChat } from "../support/databases.js";
import { specialTokens } from "../support/slack/read-message.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

type Json = Record<string, unknown>;

/** Every mrkdwn string of a message: what Slack parses for mentions and links. */
function mrkdwnOf(blocks: Json[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Json;
      if (o.type === "mrkdwn" && typeof o.text === "string") out.push(o.text);
      for (const child of Object.values(o)) walk(child);
    }
  };
  walk(blocks);
  return out;
}

/** The only tokens pim-bot itself writes: mentions of known people, and dates. */
const OURS = /^<(@U0(ALICE|BOB|CAROL|DAVE)|!date\^\d+\^\{time\}\|\d\d:\d\d UTC)>$/;

describeChat("Slack: what people type is shown, never obeyed", (driver) => {
  let w: SlackWorld;
  let d: SlackDriver;
  beforeEach(async () => {
    w = await startSlackWorld(driver);
    d = slackScenarioWorld(w).driver as SlackDriver;
  });
  afterEach(() => w.dispose());

  const everything = (): StoredMessage[] => w.api.messages.flatMap((m) => m.versions.map((v) => ({ ...m, ...v })));

  it("a justification full of Slack syntax pings nobody, links nowhere and reads as typed", async () => {
    const evil = "<!channel> <https://evil.example|click here> & <@U0ERIN> *now*";
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: evil, ticket: "INC-123456" }),
    ).toEqual({});
    await d.approve("bob");
    await slackScenarioWorld(w).runJobs();

    const messages = everything();
    expect(messages.length).toBeGreaterThanOrEqual(5); // requester, three approvers, the alert-channel notice
    for (const m of messages) {
      for (const text of mrkdwnOf(m.blocks)) for (const token of specialTokens(text)) expect(token).toMatch(OURS);
      expect(specialTokens(m.text)).toEqual([]);
    }
    const bobs = d.snapshot((await w.card("bob", "approver"))!).text;
    expect(bobs).toContain("<!channel> <https://evil.example|click here> & <@U0ERIN>");
    expect(w.api.violations).toEqual([]);
  });

  it("a justification at the longest the policy allows, escaped to four times its length, is cut with a marker", async () => {
    const long = `${"<&>".repeat(666)}<>`;
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: long, ticket: "INC-123456" }),
    ).toEqual({});
    const card = d.snapshot((await w.card("bob", "approver"))!);
    expect(card.text).toContain(TRUNCATED);
    expect(card.buttons).toEqual(["Approve", "Deny"]);
    expect(w.api.violations).toEqual([]);
  });

  it("a 5,000-character justification on a card is truncated with a marker, never rejected by Slack", async () => {
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "short", ticket: "INC-123456" }),
    ).toEqual({});
    const [a] = await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"]);
    const view = (await getRequestView(w.deps.db, a!.requestId, w.engine.clock.now()))!;
    const huge = { ...view, justification: `${"word ".repeat(999)}end!`, ticket: "T".repeat(5000) };
    const ts = await w.platform.surface.post(
      "D0BOB",
      approvalCard(huge, { now: w.engine.clock.now(), viewerId: null }),
    );
    const posted = w.api.message("D0BOB", ts)!;
    expect(d.snapshot(posted).text).toContain(TRUNCATED);
    expect(w.api.violations).toEqual([]);
  });

  it("a 5,000-character justification forged past the form's limit is refused on the form, in words", async () => {
    const form = await d.pickRoles("alice", await d.openForm("alice"), [await w.engine.role("reader")]);
    const errors = await d.submitted(
      await w.slack.submit("U0ALICE", form, {
        roles: { options: [await w.engine.role("reader")] },
        justification: "x".repeat(5000),
      }),
    );
    expect(errors).toEqual({ justification: "Justification must be at most 2000 characters." });
  });
});
