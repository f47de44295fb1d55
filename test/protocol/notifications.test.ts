/**
 * Notices per policy, the expiring-soon notice with its Extend button, the weekly digest, and a
 * reviewer's batched card, delivered through the real Slack platform.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { myActivations } from "../../src/app/activation/views.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { evaluateAlerts } from "../../src/app/alerts/evaluate.js";
import { EXPIRING_LEAD_MS, sendExpiringNotices } from "../../src/app/notices/activity.js";
import { sendWeeklyDigests } from "../../src/app/notices/digest.js";
import { closeReview } from "../../src/app/reviews/campaigns.js";
import { startReview } from "../../src/app/reviews/start.js";
import { ACTIONS } from "../../src/chat/views/action-ids.js";
import { reviewItems } from "../../src/db/schema/reviews.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { loadFixture } from "../support/engine.js";
import { eventually } from "../support/harness.js";
import { ALERT_CHANNEL, type ReviewWorld, startReviewWorld } from "../support/reviews/reviews-world.js";
import { readBlocks } from "../support/slack/read-message.js";

describeChat("notifications and digests", (driver) => {
  let w: ReviewWorld;
  beforeEach(async () => {
    w = await startReviewWorld(driver);
  });
  afterEach(async () => {
    await w.dispose();
  });

  const says = (m: { blocks: Record<string, unknown>[] }) => readBlocks(m.blocks, (id) => w.slackApi.userName(id));
  const inDm = (channel: string, words: string) =>
    w.slackApi.messagesIn(channel).filter((m) => says(m).text.includes(words));

  const activeOf = async (userId: string) =>
    (await myActivations(w.db, userId)).filter((a) => a.status === "active").map((a) => a.id);

  async function activate(user: string, role: string, durationMs = HOUR) {
    const asked = await requestActivation(w.deps, {
      requesterId: await w.principalId(user),
      roles: [{ roleId: await w.engine.role(role) }],
      durationMs,
      justification: "work",
      origin: "api",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    await w.runJobs();
    return asked.value.activations[0]!.id;
  }

  it("tells the holder 15 minutes before the end, once, with an Extend button that opens the extension form", async () => {
    const id = await activate("alice", "reader");
    expect(await sendExpiringNotices(w.deps, w.delivery)).toBe(0);
    w.clock.advance(HOUR - EXPIRING_LEAD_MS + MINUTE);
    expect(await sendExpiringNotices(w.deps, w.delivery)).toBe(1);
    expect(await sendExpiringNotices(w.deps, w.delivery)).toBe(0);
    const [notice] = inDm("D0ALICE", "Reader ends soon");
    expect(notice).toBeDefined();
    const read = says(notice!);
    expect(read.text).toContain("Reader at / ends at 10:00 UTC (14m left)");
    expect(read.buttons).toEqual([expect.objectContaining({ label: "Extend", actionId: ACTIONS.extend, value: id })]);

    // The button is the same as on the requester's card: it opens the extension form.
    expect((await w.slack.clickInMessage("U0ALICE", notice!, ACTIONS.extend)).status).toBe(200);
    const form = await eventually(async () => w.slackApi.openModal("U0ALICE"), 5_000, "the extension form");
    expect(form.view.callback_id).toBe("pim.form.extend");
    expect(w.slackApi.violations).toEqual([]);
  });

  it("tells the audiences the role's policy names, and only what needs action under criticalOnly", async () => {
    const config = loadFixture("reviews.yaml");
    config.roles.find((r) => r.key === "reader")!.policy.notifications = {
      activation: ["admins", "user:frank", "alert_channel"],
    };
    await applyConfig(w.deps, config);
    await activate("alice", "reader");
    await w.settle();
    expect(inDm("D0ERIN", "Alice Adams's Reader at / was granted")).toHaveLength(1);
    expect(inDm("D0FRANK", "Alice Adams's Reader at / was granted")).toHaveLength(1);
    expect(inDm(ALERT_CHANNEL, "Alice Adams's Reader at / was granted")).toHaveLength(1);
    // The requester has her own card; she is not told twice.
    expect(inDm("D0ALICE", "was granted")).toEqual([]);

    // Under criticalOnly, an activation ending and a new one granted need nobody's action: no notice.
    config.roles.find((r) => r.key === "reader")!.policy.notifications = { activation: ["admins"], criticalOnly: true };
    await applyConfig(w.deps, config);
    const alice = await w.principalId("alice");
    const [first] = await activeOf(alice);
    expect((await deactivate(w.deps, first!, alice)).ok).toBe(true);
    await w.runJobs();
    await activate("alice", "reader");
    await w.settle();
    expect(inDm("D0ERIN", "was granted")).toHaveLength(1);
    expect(inDm("D0ERIN", "ended")).toEqual([]);
  });

  it("sends each administrator a weekly digest, once per week", async () => {
    const alice = await w.principalId("alice");
    for (let i = 0; i < 2; i++) {
      const id = await activate("alice", "reader");
      expect((await deactivate(w.deps, id, alice)).ok).toBe(true);
      await w.runJobs();
      w.clock.advance(2 * HOUR);
    }
    await evaluateAlerts(w.deps, w.delivery);
    const config = loadFixture("reviews.yaml");
    const started = await startReview(w.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: 7 * DAY,
      startedBy: "erin",
      settings: {
        title: "Readers",
        roleIds: [await w.engine.role("reader")],
        groupIds: [],
        kinds: ["eligible", "active"],
        reviewerMode: "named",
        reviewerIds: [await w.principalId("erin")],
        fallbackIds: [],
        unanswered: "keep",
        inactiveDays: 30,
        autoApply: true,
        remindersMs: [],
      },
    });
    expect(started?.items).toBe(3);
    expect(config.users.filter((u) => u.admin).map((u) => u.key)).toEqual(["erin"]);

    expect(await sendWeeklyDigests(w.deps, w.delivery)).toBe(1);
    expect(await sendWeeklyDigests(w.deps, w.delivery)).toBe(0);
    const [digest] = inDm("D0ERIN", "Your weekly PIM digest");
    const text = says(digest!).text;
    expect(text).toContain("2 activations");
    expect(text).toContain("• Reader: 2");
    expect(text).toContain("• Alice Adams: 2");
    expect(text).toMatch(/Open alerts\n\d+ \(0 high, 0 medium, \d+ low\)/);
    expect(text).toContain("• Readers: ends 2026-11-09, 3 undecided, 3 waiting for you");
    w.clock.advance(7 * DAY);
    expect(await sendWeeklyDigests(w.deps, w.delivery)).toBe(1);
  });

  it("tells holders their access was removed when the role's policy names the requester for assignments", async () => {
    const config = loadFixture("reviews.yaml");
    config.roles.find((r) => r.key === "reader")!.policy.notifications = { assignment: ["requester"] };
    await applyConfig(w.deps, config);
    const started = await startReview(w.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: DAY,
      startedBy: "erin",
      settings: {
        title: "Readers",
        roleIds: [await w.engine.role("reader")],
        groupIds: [],
        kinds: ["eligible"],
        reviewerMode: "named",
        reviewerIds: [await w.principalId("erin")],
        fallbackIds: [],
        unanswered: "remove",
        inactiveDays: 30,
        autoApply: true,
        remindersMs: [],
      },
    });
    expect(started?.items).toBe(2);
    expect(await closeReview(w.deps, started!.campaign.id)).toBe(true);
    await w.settle();
    for (const [channel, who] of [
      ["D0ALICE", "alice"],
      ["D0FRANK", "frank"],
    ] as const) {
      const [told] = inDm(channel, "Readers: your access was removed");
      expect(told, who).toBeDefined();
      expect(says(told!).text).toContain("• Reader at / (eligible)");
    }
    // The administrators are not this role's audience any more.
    expect(inDm("D0ERIN", "assignments removed")).toEqual([]);
  });

  it("gives a reviewer with many items batched cards, with Keep and Remove per item", async () => {
    const config = loadFixture("reviews.yaml");
    for (const principal of ["bob", "carol", "frank", "glass", "dave"])
      config.assignments.push({
        principal,
        role: "hook",
        scope: "/",
        kind: "eligible",
        start: null,
        end: null,
        justification: null,
      });
    await applyConfig(w.deps, config);
    const started = await startReview(w.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: 7 * DAY,
      startedBy: "erin",
      settings: {
        title: "Hooked Role holders",
        roleIds: [await w.engine.role("hook")],
        groupIds: [],
        kinds: ["eligible"],
        reviewerMode: "named",
        reviewerIds: [await w.principalId("erin")],
        fallbackIds: [],
        unanswered: "keep",
        inactiveDays: 30,
        autoApply: true,
        remindersMs: [],
      },
    });
    expect(started?.items).toBe(6);
    await w.settle();
    const cards = inDm("D0ERIN", "Hooked Role holders");
    expect(cards).toHaveLength(1);
    const read = says(cards[0]!);
    expect(read.buttons.filter((b) => b.label === "Keep")).toHaveLength(6);
    expect(read.text).toContain("6 of your 6 items still to decide");

    // The third item's Keep decides the third item only.
    const items = await w.db
      .select()
      .from(reviewItems)
      .where(eq(reviewItems.campaignId, started!.campaign.id))
      .orderBy(reviewItems.id);
    const third = read.buttons.filter((b) => b.label === "Keep")[2]!;
    expect(third.value).toBe(items[2]!.id);
    expect((await w.slack.clickInMessage("U0ERIN", cards[0]!, third.actionId)).status).toBe(200);
    await eventually(
      async () => {
        await w.settle();
        return (
          says(w.slackApi.message(cards[0]!.channel, cards[0]!.ts)!).text.includes(
            "5 of your 6 items still to decide",
          ) || undefined
        );
      },
      5_000,
      "the batched card redrawn",
    );
    const now = says(w.slackApi.message(cards[0]!.channel, cards[0]!.ts)!).text;
    expect(now.match(/Kept by Erin Eve/g)).toHaveLength(1);
    expect(w.slackApi.violations).toEqual([]);
  });
});
