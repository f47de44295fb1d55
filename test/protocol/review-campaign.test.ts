import { and, eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { ACTIONS, FIELDS, FORMS } from "../../src/chat/views/action-ids.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { assignments } from "../../src/db/schema/assignments.js";
import { auditEvents } from "../../src/db/schema/audit.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { reviewCampaigns, reviewItems } from "../../src/db/schema/reviews.js";
import { DAY, MINUTE } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { eventually } from "../support/harness.js";
import {
  ALERT_CHANNEL,
  type ReviewWorld,
  startReviewWorld,
  TEAMS_ALERT_CHANNEL,
} from "../support/reviews/reviews-world.js";
import { readBlocks } from "../support/slack/read-message.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { teamsUser } from "../support/teams/teams-world.js";

type Json = Record<string, unknown>;

const START = new Date("2026-11-02T09:00:00Z");

/** What a Slack message says, mentions as names. */
function slackText(w: ReviewWorld, m: { blocks: Json[] }) {
  return readBlocks(m.blocks, (id) => w.slackApi.userName(id));
}

function slackCards(w: ReviewWorld, channel: string, words: string) {
  return w.slackApi.messagesIn(channel).filter((m) => slackText(w, m).text.includes(words));
}

/** Dave's 1:1 chat with the bot, which the bot opened to reach him. */
function daveChat(w: ReviewWorld) {
  const id = w.connector.createdFor(teamsUser("dave").aadObjectId);
  if (!id) throw new Error("the bot never opened a chat with dave");
  return id;
}

function teamsCards(w: ReviewWorld, conversationId: string, words: string) {
  return w.connector
    .inConversation(conversationId)
    .filter((m) => readCard(cardOf(m.activity) ?? {}).text.includes(words));
}

const latestCard = (m: { activity: Json }) => readCard(cardOf(m.activity) ?? {});
/** A Teams message as it reads after its last update. */
const lastVersion = (m: { versions: Json[] }) => readCard(cardOf(m.versions.at(-1)!) ?? {});

/** Bolt acks a click before it acts on it: waits until the message says `words`. */
async function slackMessageSays(w: ReviewWorld, m: StoredMessage, words: string): Promise<string> {
  return eventually(
    async () => {
      await w.settle();
      const text = slackText(w, w.slackApi.message(m.channel, m.ts)!).text;
      return text.includes(words) ? text : undefined;
    },
    5_000,
    `the Slack message to say "${words}"`,
  );
}

async function clickSlack(w: ReviewWorld, user: string, message: StoredMessage, actionId: string, stale = false) {
  const sent = await w.slack.clickInMessage(user, message, actionId, stale ? message.versions[0] : message);
  expect(sent.status).toBe(200);
  await w.settle();
}

describeChat("an access review, start to finish, on Slack and Teams", (driver) => {
  let w: ReviewWorld;
  beforeEach(async () => {
    w = await startReviewWorld(driver);
  });
  afterEach(async () => {
    await w.dispose();
  });

  it("prompts, reminds, takes decisions by buttons, handles silence, removes and revokes, audits and sums up", async () => {
    // Carol's standing access is granted on the log connector; Alice used her eligibility lately.
    await w.runJobs();
    expect(await w.db.select().from(logHoldings)).toMatchObject([{ login: "carol", role: "reader" }]);
    const alice = await w.principalId("alice");
    const asked = await requestActivation(w.deps, {
      requesterId: alice,
      roles: [{ roleId: await w.engine.role("reader") }],
      durationMs: 60 * MINUTE,
      justification: "monthly report",
      origin: "api",
    });
    expect(asked.ok).toBe(true);
    await w.runJobs();

    // 09:00 on the 2nd: the monthly review's first occurrence starts.
    const run = await w.job.run();
    expect(run.started).toHaveLength(1);
    await w.settle();
    const campaignId = run.started[0]!;
    expect(await w.job.run()).toEqual({ started: [], reminded: [], closed: [] });

    // Erin (Slack) reviews Alice and Bob, one card each; Dave (Teams only) reviews Carol and Frank.
    const aliceCard = slackCards(w, "D0ERIN", "Alice Adams — Reader")[0]!;
    const bobCard = slackCards(w, "D0ERIN", "Bob Brown — Database Administrator")[0]!;
    expect(slackText(w, aliceCard).text).toMatch(/last activated .* 1 activation in 30 days · recommended: Keep/);
    expect(slackText(w, bobCard).text).toContain("never activated · 0 activations in 30 days · recommended: Remove");
    expect(slackText(w, bobCard).buttons.map((b) => b.label)).toEqual(["Keep", "Remove"]);
    const dave = daveChat(w);
    const carolCard = teamsCards(w, dave, "Carol Chen — Reader")[0]!;
    const frankCard = teamsCards(w, dave, "Frank Fox — Reader")[0]!;
    expect(latestCard(carolCard).text).toContain("(active, until 2027-01-01)");
    expect(latestCard(frankCard).buttons.map((b) => b.label)).toEqual(["Keep", "Remove"]);
    expect(slackCards(w, "D0ALICE", "Review")).toEqual([]);

    // Erin keeps Alice's (one click) and removes Bob's with a reason (Remove opens a small form).
    await clickSlack(w, "U0ERIN", aliceCard, ACTIONS.reviewKeep);
    await slackMessageSays(w, aliceCard, "Kept by Erin Eve");
    await clickSlack(w, "U0ERIN", bobCard, ACTIONS.reviewRemove);
    const modal = await eventually(async () => w.slackApi.openModal("U0ERIN"), 5_000, "the removal form");
    expect(modal.view.callback_id).toBe(FORMS.reviewRemove);
    const submitted = await w.slack.submit("U0ERIN", modal, { [FIELDS.reason]: "Moved to the data team" });
    expect(submitted.status).toBe(200);
    await w.settle();
    const bobNow = await slackMessageSays(w, bobCard, "Removed by Erin Eve");
    expect(bobNow).toContain("Moved to the data team");

    // Five days in: the two-day reminder goes to Dave, who has not decided yet; Erin has nothing left.
    w.clock.set(new Date(START.getTime() + 5 * DAY + MINUTE));
    expect((await w.job.run()).reminded).toEqual([campaignId]);
    await w.settle();
    expect(teamsCards(w, dave, "Reminder: Monthly access review")).toHaveLength(1);
    expect(latestCard(teamsCards(w, dave, "Reminder")[0]!).text).toContain(
      "2 items of Monthly access review still wait",
    );
    expect(slackCards(w, "D0ERIN", "Reminder")).toEqual([]);

    // Dave removes Carol's standing access from Teams: Remove posts a form, its button records it.
    const daveUser = teamsUser("dave");
    const where = { conversationId: dave, kind: "personal" as const };
    const removeClick = await w.teams.click(daveUser, where, carolCard.id, ACTIONS.reviewRemove, {
      value: latestCard(carolCard).buttons[1]!.data.value,
      view: "tracked",
    });
    expect(removeClick.status).toBe(200);
    await w.settle();
    const form = teamsCards(w, dave, "Remove this access?").at(-1)!;
    const itemId = String(latestCard(form).buttons[0]!.data.value);
    const formClick = await w.teams.click(daveUser, where, form.id, FORMS.reviewRemove, {
      value: itemId,
      view: "form",
      [FIELDS.reason]: "Rotation ended",
    });
    expect(formClick.status).toBe(200);
    await w.settle();
    expect(lastVersion(w.connector.message(dave, carolCard.id)!).text).toContain("Removed by Dave Dale");

    // Six days in: the one-day reminder, for Frank's item nobody decided.
    w.clock.set(new Date(START.getTime() + 6 * DAY + MINUTE));
    expect((await w.job.run()).reminded).toEqual([campaignId]);
    await w.settle();
    expect(teamsCards(w, dave, "Reminder")).toHaveLength(2);
    expect(latestCard(teamsCards(w, dave, "Reminder")[1]!).text).toContain(
      "1 item of Monthly access review still wait",
    );

    // The end: decisions and the recommendation for silence are applied, removals audited, revoked.
    w.clock.set(new Date(START.getTime() + 7 * DAY + MINUTE));
    expect((await w.job.run()).closed).toEqual([campaignId]);
    await w.runJobs();

    const [reader, dbAdmin] = [await w.engine.role("reader"), await w.engine.role("db-admin")];
    const left = await w.db
      .select({ principalId: assignments.principalId })
      .from(assignments)
      .where(sql`${assignments.roleId} in (${reader}, ${dbAdmin})`);
    const [aliceId, carolId] = [await w.principalId("alice"), await w.principalId("carol")];
    expect(left.map((a) => a.principalId)).toEqual([aliceId]);
    // Carol's standing access is gone from the target (Alice's own activation is not the review's business).
    expect((await w.db.select().from(logHoldings)).map((h) => h.login)).toEqual(["alice"]);
    const revokes = await w.db.select().from(outboxJobs).where(sql`${outboxJobs.payload}->>'reviewId' = ${campaignId}`);
    expect(revokes.map((j) => [j.kind, j.status, (j.payload as Json).principalId])).toEqual([
      ["revoke", "done", carolId],
    ]);

    const removed = await w.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "assignment.removed"), sql`${auditEvents.data}->>'campaignId' = ${campaignId}`));
    expect(removed.map((r) => [r.subject, r.role, r.data.outcomeBy]).sort()).toEqual([
      ["bob", "db-admin", "decision"],
      ["carol", "reader", "decision"],
      ["frank", "reader", "unanswered"],
    ]);
    const decided = await w.db.select().from(auditEvents).where(eq(auditEvents.event, "review.decided"));
    expect(decided.map((r) => [r.actor, r.subject, r.decision, r.data.reason]).sort()).toEqual([
      ["dave", "carol", "remove", "Rotation ended"],
      ["erin", "alice", "keep", null],
      ["erin", "bob", "remove", "Moved to the data team"],
    ]);
    expect(
      await w.db.select({ event: auditEvents.event }).from(auditEvents).where(eq(auditEvents.event, "review.applied")),
    ).toHaveLength(1);
    const [items] = await w.db
      .select({ n: sql<number>`count(*)::int` })
      .from(reviewItems)
      .where(sql`${reviewItems.appliedAt} is not null`);
    expect(items!.n).toBe(4);

    // The summary in both alert channels; every prompt redrawn without buttons.
    const summary = slackCards(w, ALERT_CHANNEL, "Review finished: Monthly access review");
    expect(summary).toHaveLength(1);
    const said = slackText(w, w.slackApi.message(ALERT_CHANNEL, summary[0]!.ts)!).text;
    expect(said).toContain("4 assignments reviewed, 3 decided by reviewers");
    expect(said).toContain("Kept\n1 (1 decided, 0 unanswered)");
    expect(said).toContain("Removed\n3 (2 decided, 1 unanswered)");
    expect(said).toContain("Applied\nyes");
    expect(teamsCards(w, TEAMS_ALERT_CHANNEL, "Review finished: Monthly access review")).toHaveLength(1);
    const aliceLast = slackText(w, w.slackApi.message(aliceCard.channel, aliceCard.ts)!);
    expect(aliceLast.text).toContain("This review has ended");
    expect(aliceLast.buttons).toEqual([]);
    expect(lastVersion(w.connector.message(dave, frankCard.id)!).text).toContain(
      "Not answered: removed by the review's rule",
    );

    // A late click on a card as it was changes nothing and says why.
    await clickSlack(w, "U0ERIN", bobCard, ACTIONS.reviewKeep, true);
    const told = await eventually(async () => w.slackApi.ephemeralsFor("U0ERIN").at(-1), 5_000, "the refusal");
    expect(told.text).toContain("has ended; decisions can no longer change");
    const [campaign] = await w.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, campaignId));
    expect(campaign).toMatchObject({ status: "closed", appliedBy: "system" });
    // The administrators hear of the removals, as the policy's `assignment` audience (admins by default).
    const toldAdmins = slackCards(w, "D0ERIN", "Monthly access review: 3 assignments removed");
    expect(toldAdmins).toHaveLength(1);
    expect(slackText(w, toldAdmins[0]!).text).toMatch(
      /Bob Brown: Database Administrator at \/mg\/prod \(eligible\)\n.*Carol Chen: Reader at \/ \(active\)\n.*Frank Fox: Reader at \/ \(eligible\)/,
    );

    // Everything above, removals included, is one unbroken, verifiable audit chain.
    expect(await verifyAuditChain({ db: w.db })).toMatchObject({ ok: true });
    expect(w.slackApi.violations).toEqual([]);
    expect(w.connector.violations).toEqual([]);
    expect(w.errors).toEqual([]);
  });
});

describe.each(["slack", "teams"] as const)("a reviewer's own access (%s)", (platform) => {
  let w: ReviewWorld;
  beforeEach(async () => {
    // On Teams, erin is the one without Slack, so her cards and clicks go through Teams.
    w = await startReviewWorld("pglite", { notOnSlack: platform === "teams" ? ["dave", "erin"] : ["dave"] });
  });
  afterEach(async () => {
    await w.dispose();
  });

  it("is not theirs to review when the review is not a self-review", async () => {
    // An administrator starts the global administrators' review now, from chat; Security reviews it.
    if (platform === "slack") expect((await w.slack.command("U0ERIN", "review ga-review")).status).toBe(200);
    else expect((await w.teams.message(teamsUser("erin"), "elevate review ga-review")).status).toBe(200);
    await w.settle();
    const [campaign] = await w.db.select().from(reviewCampaigns);
    expect(campaign).toMatchObject({ definition: "ga-review", startedBy: "erin" });
    const [item] = await w.db.select().from(reviewItems);
    expect(item!.principalId).toBe(await w.principalId("dave"));

    // Dave is in Security but holds the role himself: no card for him, and a forged click is refused.
    expect(
      teamsCards(w, w.connector.createdFor(teamsUser("dave").aadObjectId) ?? "none", "Global Administrator"),
    ).toEqual([]);
    const forged = await w.teams.click(
      teamsUser("dave"),
      w.teams.personal(teamsUser("dave")),
      "no-such-message",
      ACTIONS.reviewKeep,
      {
        value: item!.id,
        view: "tracked",
      },
    );
    expect(forged.status).toBe(200);
    const refusals = await w.db.select().from(auditEvents).where(eq(auditEvents.event, "review.refused"));
    expect(refusals.map((r) => [r.actor, r.subject, r.data.code])).toEqual([["dave", "dave", "SELF_REVIEW"]]);

    // Erin, the other member of Security, can; her card is on the platform she is on.
    if (platform === "slack") {
      const card = slackCards(w, "D0ERIN", "Dave Dale — Global Administrator")[0]!;
      await clickSlack(w, "U0ERIN", card, ACTIONS.reviewKeep);
      await slackMessageSays(w, card, "Kept by Erin Eve");
    } else {
      const chat = w.teams.personal(teamsUser("erin")).conversationId;
      const card = teamsCards(w, chat, "Dave Dale — Global Administrator")[0]!;
      const sent = await w.teams.click(
        teamsUser("erin"),
        { conversationId: chat, kind: "personal" },
        card.id,
        ACTIONS.reviewKeep,
        {
          value: item!.id,
          view: "tracked",
        },
      );
      expect(readCard((sent.json as Json).value as Json).text).toContain("Kept by Erin Eve");
    }
    const decided = await w.db.select().from(auditEvents).where(eq(auditEvents.event, "review.decided"));
    expect(decided.map((r) => [r.actor, r.subject, r.decision])).toEqual([["erin", "dave", "keep"]]);
    expect(w.slackApi.violations).toEqual([]);
    expect(w.connector.violations).toEqual([]);
  });
});
