import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { renewRequest, requestExtension } from "../../src/app/activation/extend.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { satisfyMfa } from "../../src/app/activation/satisfy-mfa.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { acknowledgeAlert } from "../../src/app/alerts/evaluate.js";
import { applyReview } from "../../src/app/reviews/campaigns.js";
import { recordDecision } from "../../src/app/reviews/decide.js";
import { startReview, startReviewFromChat } from "../../src/app/reviews/start.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { reviewDecisions, reviewItems } from "../../src/db/schema/reviews.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

/** Refusals that are audited, text that is bounded, and approvals that count only while their giver still may approve. */
describeEachDatabase("the gate's smaller rules", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
  });
  afterEach(() => e.dispose());

  async function ask(user: string, role: string) {
    const requested = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role(role) }],
      durationMs: HOUR,
      justification: "Needed",
      ticket: "INC-123456",
      origin: "api",
    });
    if (!requested.ok) throw new Error(requested.error.message);
    return requested.value;
  }

  it("counts only approvals of people who are still approvers when the next one decides", async () => {
    // Global Administrator needs 2 approvals from the approvers group (bob, carol, dave).
    const request = await ask("alice", "global-admin");
    const act = request.activations[0]!;
    expect((await satisfyMfa(e.deps, act.id, await e.user("alice"), { method: "passkey" })).ok).toBe(true);
    const byBob = await decide(e.deps, {
      requestId: request.requestId,
      approverId: await e.user("bob"),
      decision: "approve",
    });
    expect(byBob.ok).toBe(true);

    // Bob leaves the approvers group: his approval no longer counts.
    const config = loadFixture("engine.yaml");
    await applyConfig(e.deps, {
      ...config,
      groups: config.groups.map((g) => (g.key === "approvers" ? { ...g, members: ["carol", "dave"] } : g)),
    });
    await decide(e.deps, { requestId: request.requestId, approverId: await e.user("carol"), decision: "approve" });
    expect((await getActivation(e.deps.db, act.id))!.status).toBe("pending_approval");
    await decide(e.deps, { requestId: request.requestId, approverId: await e.user("dave"), decision: "approve" });
    expect((await getActivation(e.deps.db, act.id))!.status).toBe("activating");
  });

  it("refuses an approval comment longer than 1000 characters, audited, and records nothing", async () => {
    const request = await ask("alice", "db-admin");
    const refused = await decide(e.deps, {
      requestId: request.requestId,
      approverId: await e.user("bob"),
      decision: "approve",
      comment: "x".repeat(1001),
    });
    expect(refused.ok === false && refused.error.code).toBe("COMMENT_TOO_LONG");
    expect((await getActivation(e.deps.db, request.activations[0]!.id))!.status).toBe("pending_approval");
    const audit = await queryAudit(e.deps.db, { event: "approval.refused", requestId: request.requestId });
    expect(audit.map((r) => [r.actor, r.data.code])).toEqual([["bob", "COMMENT_TOO_LONG"]]);
    const fits = await decide(e.deps, {
      requestId: request.requestId,
      approverId: await e.user("bob"),
      decision: "approve",
      comment: "x".repeat(1000),
    });
    expect(fits.ok).toBe(true);
  });

  it("audits NOT_YOURS when someone cancels, ends, extends or renews another person's request", async () => {
    const pending = await ask("alice", "db-admin");
    const held = await ask("alice", "reader");
    await e.worker.drain();
    const bob = await e.user("bob");
    const readerId = held.activations[0]!.id;
    const tries = [
      await cancelRequest(e.deps, pending.requestId, bob),
      await deactivate(e.deps, readerId, bob),
      await requestExtension(e.deps, {
        activationId: readerId,
        userId: bob,
        durationMs: HOUR,
        justification: "more",
        origin: "api",
      }),
    ];
    await cancelRequest(e.deps, pending.requestId, await e.user("alice"));
    tries.push(await renewRequest(e.deps, { activationId: pending.activations[0]!.id, userId: bob, origin: "api" }));
    expect(tries.map((t) => (t.ok ? "ok" : t.error.code))).toEqual([
      "NOT_YOURS",
      "NOT_YOURS",
      "NOT_YOURS",
      "NOT_YOURS",
    ]);
    const refused = await queryAudit(e.deps.db, { event: "activation.refused" });
    expect(refused.map((r) => [r.actor, r.subject, r.data.action, r.data.code])).toEqual([
      ["bob", "alice", "cancel", "NOT_YOURS"],
      ["bob", "alice", "end", "NOT_YOURS"],
      ["bob", "alice", "extend", "NOT_YOURS"],
      ["bob", "alice", "renew", "NOT_YOURS"],
    ]);
  });

  it("audits a non-administrator's attempts to acknowledge an alert, start a review or apply one", async () => {
    const frank = await e.user("frank");
    expect((await acknowledgeAlert(e.deps, "alr_whatever", frank)).ok).toBe(false);
    expect((await startReviewFromChat(e.deps, frank, "reader", [])).ok).toBe(false);
    expect((await applyReview(e.deps, "rvc_whatever", frank)).ok).toBe(false);
    const acks = await queryAudit(e.deps.db, { event: "alert.acknowledge_refused" });
    expect(acks.map((r) => [r.actor, r.data.code, r.data.alertId])).toEqual([["frank", "NOT_ALLOWED", "alr_whatever"]]);
    const reviews = await queryAudit(e.deps.db, { event: "review.refused" });
    expect(reviews.map((r) => [r.actor, r.data.code, r.data.action])).toEqual([
      ["frank", "NOT_ALLOWED", "start"],
      ["frank", "NOT_ALLOWED", "apply"],
    ]);
  });

  it("writes a review reason to the audit log cut exactly as it is kept in its table", async () => {
    const started = (await startReview(e.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: 7 * DAY,
      startedBy: "erin",
      settings: {
        title: "Readers",
        roleIds: [await e.role("reader")],
        groupIds: [],
        kinds: ["eligible", "active"],
        reviewerMode: "named",
        reviewerIds: [await e.user("erin")],
        fallbackIds: [],
        unanswered: "keep",
        inactiveDays: 30,
        autoApply: true,
        remindersMs: [],
      },
    }))!;
    const [item] = await e.handle.db.select().from(reviewItems).where(eq(reviewItems.campaignId, started.campaign.id));
    const long = "r".repeat(5000);
    expect(
      (await recordDecision(e.deps, await e.user("erin"), { itemId: item!.id, decision: "keep", reason: long })).ok,
    ).toBe(true);
    const [kept] = await e.handle.db.select().from(reviewDecisions).where(eq(reviewDecisions.itemId, item!.id));
    const [audited] = await queryAudit(e.deps.db, { event: "review.decided" });
    expect(kept!.reason!.length).toBeLessThan(long.length);
    expect(audited!.data.reason).toBe(kept!.reason);
  });
});
