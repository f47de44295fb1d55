import { eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { noDelivery } from "../../src/app/notices/delivery.js";
import { applyReview, closeReview } from "../../src/app/reviews/campaigns.js";
import { recordDecision, recordDecisions } from "../../src/app/reviews/decide.js";
import { startReview } from "../../src/app/reviews/start.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { activations } from "../../src/db/schema/activations.js";
import { assignments } from "../../src/db/schema/assignments.js";
import { auditEvents } from "../../src/db/schema/audit.js";
import { reviewCampaigns, reviewItems } from "../../src/db/schema/reviews.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { outcomeOf, type ReviewSettings, type UnansweredPolicy } from "../../src/domain/review-rules.js";
import { ReviewsJob } from "../../src/jobs/reviews-job.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture, silentLogger } from "../support/engine.js";

describeEachDatabase("access reviews, the use cases", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver, "reviews.yaml");
  });
  afterEach(async () => {
    await e.dispose();
  });

  async function settings(over: Partial<ReviewSettings> = {}): Promise<ReviewSettings> {
    return {
      title: "Readers and DBAs",
      roleIds: [await e.role("reader"), await e.role("db-admin")],
      groupIds: [],
      kinds: ["eligible", "active"],
      reviewerMode: "named",
      reviewerIds: [await e.user("erin")],
      fallbackIds: [],
      unanswered: "keep",
      inactiveDays: 30,
      autoApply: true,
      remindersMs: [],
      ...over,
    };
  }
  const start = async (over: Partial<ReviewSettings> = {}) =>
    (await startReview(e.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: 7 * DAY,
      startedBy: "erin",
      settings: await settings(over),
    }))!;
  const itemsOf = (campaignId: string) =>
    e.handle.db.select().from(reviewItems).where(eq(reviewItems.campaignId, campaignId)).orderBy(reviewItems.id);

  for (const policy of ["keep", "remove", "recommendation"] as UnansweredPolicy[]) {
    it(`applies "${policy}" to unanswered items exactly as the domain rule says`, async () => {
      const { campaign } = await start({ unanswered: policy });
      const items = await itemsOf(campaign.id);
      expect(items.map((i) => i.recommendation).sort()).toEqual(["keep", "remove", "remove", "remove"]);
      // One decision, against the recommendation; the rest left unanswered.
      const decided = items.find((i) => i.recommendation === "remove")!;
      expect((await recordDecision(e.deps, await e.user("erin"), { itemId: decided.id, decision: "keep" })).ok).toBe(
        true,
      );
      expect(await closeReview(e.deps, campaign.id)).toBe(true);
      expect(await closeReview(e.deps, campaign.id)).toBe(false);
      for (const item of await itemsOf(campaign.id)) {
        const decision = item.id === decided.id ? "keep" : null;
        expect([item.id, item.outcome, item.outcomeBy]).toEqual([
          item.id,
          outcomeOf(decision, policy, item.recommendation),
          decision ? "decision" : "unanswered",
        ]);
      }
      const remaining = new Set((await e.handle.db.select({ id: assignments.id }).from(assignments)).map((r) => r.id));
      for (const item of await itemsOf(campaign.id))
        expect(remaining.has(item.assignmentId)).toBe(item.outcome === "keep");
      expect(await verifyAuditChain({ db: e.handle.db })).toMatchObject({ ok: true });
    });
  }

  it("records bulk decisions with one audit event per thousand, refusing item by item", async () => {
    const { campaign } = await start();
    const items = await itemsOf(campaign.id);
    const inputs = [...items.map((i) => ({ itemId: i.id, decision: "remove" as const, reason: "bulk" }))];
    // A hundred and more decisions at once (an import): padded with unknown items, each refused.
    for (let n = 0; inputs.length <= 100; n++)
      inputs.push({ itemId: `rvi_missing${n}`, decision: "remove", reason: "bulk" });
    const outcome = await recordDecisions(e.deps, await e.user("erin"), inputs);
    expect(outcome.ok && outcome.value.recorded).toBe(items.length);
    expect(outcome.ok && outcome.value.refused.length).toBe(inputs.length - items.length);
    const batch = await e.handle.db.select().from(auditEvents).where(eq(auditEvents.event, "review.decided_batch"));
    expect(batch).toHaveLength(1);
    expect((batch[0]!.data.decisions as { subject: string; decision: string }[]).map((d) => d.decision)).toEqual(
      items.map(() => "remove"),
    );
    expect(await verifyAuditChain({ db: e.handle.db })).toMatchObject({ ok: true });
  });

  it("waits for an administrator to apply a review that does not apply itself", async () => {
    const { campaign } = await start({ autoApply: false, unanswered: "remove" });
    expect(await closeReview(e.deps, campaign.id)).toBe(true);
    expect(await e.handle.db.select().from(assignments)).toHaveLength(6);
    expect(await applyReview(e.deps, campaign.id, await e.user("alice"))).toMatchObject({
      ok: false,
      error: { code: "NOT_ALLOWED" },
    });
    expect(await applyReview(e.deps, campaign.id, await e.user("erin"))).toEqual({ ok: true, value: { removed: 4 } });
    expect(await applyReview(e.deps, campaign.id, await e.user("erin"))).toMatchObject({
      ok: false,
      error: { code: "ALREADY_DECIDED" },
    });
    const [row] = await e.handle.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, campaign.id));
    expect(row).toMatchObject({ appliedBy: "erin" });
    const removals = await e.handle.db.select().from(auditEvents).where(eq(auditEvents.event, "assignment.removed"));
    expect(removals.map((r) => r.actor)).toEqual(["erin", "erin", "erin", "erin"]);
  });

  it("ends an activation when the review removes the eligibility it came from", async () => {
    const alice = await e.user("alice");
    const asked = await requestActivation(e.deps, {
      requesterId: alice,
      roles: [{ roleId: await e.role("reader") }],
      durationMs: 4 * HOUR,
      justification: "audit",
      origin: "api",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    await e.worker.drain();
    const { campaign } = await start({ roleIds: [await e.role("reader")], kinds: ["eligible"] });
    const item = (await itemsOf(campaign.id)).find((i) => i.principalId === alice)!;
    expect((await recordDecision(e.deps, await e.user("erin"), { itemId: item.id, decision: "remove" })).ok).toBe(true);
    await closeReview(e.deps, campaign.id);
    expect((await getActivation(e.handle.db, asked.value.activations[0]!.id))?.status).toBe("ending");
    await e.worker.drain();
    expect((await getActivation(e.handle.db, asked.value.activations[0]!.id))?.status).toBe("ended");
  });

  it("refuses decisions from non-reviewers and after the end, and says why", async () => {
    const { campaign } = await start();
    const [item] = await itemsOf(campaign.id);
    expect(await recordDecision(e.deps, await e.user("bob"), { itemId: item!.id, decision: "keep" })).toMatchObject({
      ok: false,
      error: { code: "NOT_A_REVIEWER", message: "You are not a reviewer of this assignment." },
    });
    e.clock.advance(7 * DAY);
    expect(await recordDecision(e.deps, await e.user("erin"), { itemId: item!.id, decision: "keep" })).toMatchObject({
      ok: false,
      error: { code: "REVIEW_CLOSED" },
    });
    expect(await recordDecision(e.deps, await e.user("erin"), { itemId: "rvi_nope", decision: "keep" })).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
  });
});

describe("the reviews job: recurrences in time zones, once per occurrence", () => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine("pglite", "reviews.yaml");
  });
  afterEach(async () => {
    await e.dispose();
  });
  const campaigns = () =>
    e.handle.db
      .select({
        definition: reviewCampaigns.definition,
        occurrenceAt: reviewCampaigns.occurrenceAt,
        status: reviewCampaigns.status,
      })
      .from(reviewCampaigns)
      .orderBy(reviewCampaigns.startsAt);

  it("starts each occurrence once, closes it at its end, and starts the next one a month later", async () => {
    const job = new ReviewsJob(e.deps, noDelivery, silentLogger);
    e.clock.set("2026-11-02T08:59:00Z");
    expect((await job.run()).started).toEqual([]);
    e.clock.set("2026-11-02T09:00:30Z");
    expect((await job.run()).started).toHaveLength(1);
    expect((await job.run()).started).toEqual([]);
    // Another replica's job, with no memory of what was checked: the occurrence is taken already.
    expect((await new ReviewsJob(e.deps, noDelivery, silentLogger).run()).started).toEqual([]);
    e.clock.set("2026-11-09T09:01:00Z");
    expect((await job.run()).closed).toHaveLength(1);
    // Every replica was down at 09:00 on 2 December: the occurrence still starts, late.
    e.clock.set("2026-12-02T11:17:00Z");
    expect((await job.run()).started).toHaveLength(1);
    expect(await campaigns()).toEqual([
      { definition: "monthly-access", occurrenceAt: new Date("2026-11-02T09:00:00Z"), status: "closed" },
      { definition: "monthly-access", occurrenceAt: new Date("2026-12-02T09:00:00Z"), status: "open" },
    ]);
  });

  it("reads cron recurrences in the review's time zone, and picks up a changed file without a restart", async () => {
    const job = new ReviewsJob(e.deps, noDelivery, silentLogger);
    e.clock.set("2026-11-02T06:00:00Z");
    await job.run();
    const config = loadFixture("reviews.yaml");
    config.reviews = [
      {
        ...config.reviews[0]!,
        name: "paris-mondays",
        recurrence: { kind: "cron", expression: "30 8 * * 1" },
        start: null,
        timezone: "Europe/Paris",
        durationMs: DAY,
      },
    ];
    await applyConfig(e.deps, config);
    // Monday 9 November 2026, 08:30 in Paris is 07:30 UTC.
    e.clock.set("2026-11-09T07:29:00Z");
    expect((await job.run()).started).toEqual([]);
    e.clock.set("2026-11-09T07:30:00Z");
    expect((await job.run()).started).toHaveLength(1);
    e.clock.advance(MINUTE);
    expect((await job.run()).started).toEqual([]);
    const [row] = await e.handle.db
      .select()
      .from(reviewCampaigns)
      .where(sql`${reviewCampaigns.definition} = 'paris-mondays'`);
    expect(row).toMatchObject({
      occurrenceAt: new Date("2026-11-09T07:30:00Z"),
      endsAt: new Date("2026-11-10T07:30:00Z"),
    });
    expect(await e.handle.db.select({ n: sql<number>`count(*)::int` }).from(activations)).toEqual([{ n: 0 }]);
  });
});
