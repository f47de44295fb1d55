/**
 * Each alert rule from condition to resolution, posted to the alert channel by the real Slack
 * platform: exactly one alert (and one card) per condition, none more on the next evaluation,
 * resolved (and the card redrawn) once the condition clears.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { evaluateAlerts } from "../../src/app/alerts/evaluate.js";
import { inTransaction } from "../../src/app/kernel/unit-of-work.js";
import { ACTIONS } from "../../src/chat/views/action-ids.js";
import type { PimConfig } from "../../src/config/pim-file.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { auditEvents } from "../../src/db/schema/audit.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { driftWithAlerts } from "../../src/jobs/alerts-job.js";
import { OutboxWorker } from "../../src/jobs/outbox-worker.js";
import { describeChat } from "../support/databases.js";
import { loadFixture } from "../support/engine.js";
import { eventually } from "../support/harness.js";
import {
  ALERT_CHANNEL,
  type ReviewWorld,
  startReviewWorld,
  TEAMS_ALERT_CHANNEL,
} from "../support/reviews/reviews-world.js";
import { readBlocks } from "../support/slack/read-message.js";
import { testLog } from "../support/slack/slack-world.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

describeChat("alerts, rule by rule", (driver) => {
  let w: ReviewWorld;
  beforeEach(async () => {
    w = await startReviewWorld(driver);
  });
  afterEach(async () => {
    await w.dispose();
  });

  const cards = (words: string) =>
    w.slackApi
      .messagesIn(ALERT_CHANNEL)
      .filter((m) => readBlocks(m.versions[0]!.blocks, (id) => w.slackApi.userName(id)).text.includes(words));
  const nowSays = (m: { blocks: Record<string, unknown>[] }) =>
    readBlocks(m.blocks, (id) => w.slackApi.userName(id)).text;
  const rows = (condition: string) => w.db.select().from(alerts).where(eq(alerts.conditionKey, condition));
  const evaluateAll = () => evaluateAlerts(w.deps, w.delivery);
  const apply = (change: (c: PimConfig) => void) => {
    const config = loadFixture("reviews.yaml");
    change(config);
    return applyConfig(w.deps, config);
  };

  /** Condition in place → one alert and one card; again → nothing new; cleared → resolved and redrawn. */
  async function lifecycle(
    condition: string,
    words: string,
    clear: () => Promise<unknown>,
    evaluate: () => Promise<unknown> = evaluateAll,
  ) {
    await evaluate();
    await w.settle();
    const [opened, ...more] = await rows(condition);
    expect(more).toEqual([]);
    expect(opened).toMatchObject({ status: "open" });
    const card = await eventually(async () => cards(words)[0], 2_000, `a card saying "${words}"`);
    expect(cards(words)).toHaveLength(1);

    await evaluate();
    await w.settle();
    expect((await rows(condition)).map((r) => [r.id, r.status])).toEqual([[opened!.id, "open"]]);
    expect(cards(words)).toHaveLength(1);

    await clear();
    await evaluate();
    await w.settle();
    expect((await rows(condition)).map((r) => [r.id, r.status])).toEqual([[opened!.id, "resolved"]]);
    expect(cards(words)).toHaveLength(1);
    expect(nowSays(card)).toContain("resolved at");
    expect(readBlocks(card.blocks, () => undefined).buttons).toEqual([]);
    const trail = await w.db
      .select({ event: auditEvents.event })
      .from(auditEvents)
      .where(sql`${auditEvents.data}->>'condition' = ${condition}`)
      .orderBy(auditEvents.id);
    expect(trail.map((t) => t.event)).toEqual(["alert.opened", "alert.resolved"]);
    expect(w.slackApi.violations).toEqual([]);
    expect(w.errors).toEqual([]);
    return opened!;
  }

  async function activate(user: string, role: string) {
    const asked = await requestActivation(w.deps, {
      requesterId: await w.principalId(user),
      roles: [{ roleId: await w.engine.role(role) }],
      durationMs: HOUR,
      justification: "work",
      origin: "api",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    await w.runJobs();
    return asked.value.activations[0]!.id;
  }

  it("too many global administrators: count and share both exceeded", async () => {
    const more = (c: PimConfig) => {
      c.alerts.tooManyGlobalAdmins = { count: 2, percent: 30 };
      for (const principal of ["alice", "bob"])
        c.assignments.push({
          principal,
          role: "global-admin",
          scope: "/",
          kind: "eligible",
          start: null,
          end: null,
          justification: null,
        });
    };
    await apply(more);
    const alert = await lifecycle("too_many_global_admins", "Too many global administrators", () =>
      apply((c) => (c.alerts.tooManyGlobalAdmins = { count: 2, percent: 30 })),
    );
    expect(alert.text).toContain("3 people hold a critical role");
  });

  it("roles that do not require MFA", async () => {
    const mfaForAll = (c: PimConfig) => (c.defaults.activation = { ...c.defaults.activation, requireMfa: true });
    await apply((c) => {
      mfaForAll(c);
      c.roles.find((r) => r.key === "reader")!.policy.activation = { requireMfa: false };
    });
    await lifecycle("role_without_mfa:reader", "Reader can be activated without multi-factor", () => apply(mfaForAll));
    expect(await w.db.select().from(alerts).where(eq(alerts.rule, "role_without_mfa"))).toHaveLength(1);
  });

  it("eligible and not activated for N days; cleared by an activation", async () => {
    await apply((c) => (c.alerts.staleEligibleDays = 300));
    await lifecycle("stale_eligible:frank:reader", "Frank Fox has been eligible for Reader", () =>
      activate("frank", "reader"),
    );
  });

  it("a role activated too often; cleared as the window passes", async () => {
    await apply((c) => (c.alerts.frequentActivations = { count: 2, windowMs: DAY }));
    for (let i = 0; i < 3; i++) {
      const id = await activate("alice", "reader");
      expect((await deactivate(w.deps, id, await w.principalId("alice"))).ok).toBe(true);
      await w.runJobs();
      w.clock.advance(10 * MINUTE);
    }
    await lifecycle("frequent_activations:alice:reader", "Alice Adams activated Reader 3 times", async () =>
      w.clock.advance(DAY),
    );
  });

  it("a role assigned outside PIM, found by drift detection; cleared when it is gone from the target", async () => {
    const drift = driftWithAlerts(w.deps, w.engine.connectors, w.delivery);
    await w.runJobs();
    await w.db.insert(logHoldings).values({ login: "bob", role: "reader", scope: "/", grantedBy: "someone by hand" });
    await lifecycle(
      "assigned_outside_pim:bob:reader:/",
      "bob holds reader at / on the log target",
      () => w.db.delete(logHoldings).where(eq(logHoldings.login, "bob")),
      drift,
    );
  });

  it("a break-glass account used: in the channel within a second (real timers), resolved a day after it ends", async () => {
    const glass = await w.principalId("glass");
    const started = performance.now();
    const asked = await requestActivation(w.deps, {
      requesterId: glass,
      roles: [{ roleId: await w.engine.role("global-admin") }],
      durationMs: HOUR,
      justification: "tenant locked out",
      origin: "api",
    });
    expect(asked.ok).toBe(true);
    await eventually(
      async () => cards("The emergency account glass")[0],
      1_000,
      "the break-glass alert in the channel",
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    await w.runJobs();
    const activationId = asked.ok ? asked.value.activations[0]!.id : "";
    await lifecycle("break_glass_used:glass", "The emergency account glass", async () => {
      expect((await deactivate(w.deps, activationId, glass)).ok).toBe(true);
      await w.runJobs();
      w.clock.advance(DAY);
    });
    // Teams' alert channel got it too.
    const teams = w.connector
      .inConversation(TEAMS_ALERT_CHANNEL)
      .filter((m) => readCard(cardOf(m.activity) ?? {}).text.includes("The emergency account glass"));
    expect(teams).toHaveLength(1);
  });

  it("an unauthorized approval attempt", async () => {
    const asked = await requestActivation(w.deps, {
      requesterId: await w.principalId("bob"),
      roles: [{ roleId: await w.engine.role("db-admin") }],
      durationMs: HOUR,
      justification: "fix",
      origin: "api",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    // Frank is no approver of db-admin.
    const tried = await decide(w.deps, {
      requestId: asked.value.requestId,
      approverId: await w.principalId("frank"),
      decision: "approve",
    });
    expect(tried).toMatchObject({ ok: false, error: { code: "NOT_AN_APPROVER" } });
    await w.settle();
    await lifecycle("unauthorized_approval:frank", "frank tried to decide a request they may not decide", async () =>
      w.clock.advance(DAY),
    );
  });

  it("repeated MFA failures", async () => {
    await apply((c) => (c.alerts.mfaFailures = { count: 3, windowMs: HOUR }));
    // What the MFA pages record for each wrong code (src/mfa/step-up.ts), three times in ten minutes.
    for (let i = 1; i <= 3; i++) {
      await inTransaction(w.deps, async (work) =>
        work.audit({
          event: "mfa.failed",
          actor: "bob",
          subject: "bob",
          data: { method: "totp", purpose: "activation", failures: i },
        }),
      );
      w.clock.advance(5 * MINUTE);
    }
    await lifecycle("mfa_failures:bob", "bob failed the MFA step-up 3 times", async () => w.clock.advance(HOUR));
  });

  it("a grant that failed: the webhook's secret is not configured", async () => {
    const asked = await requestActivation(w.deps, {
      requesterId: await w.principalId("alice"),
      roles: [{ roleId: await w.engine.role("hook") }],
      durationMs: HOUR,
      justification: "mail",
      origin: "api",
    });
    expect(asked.ok).toBe(true);
    await w.runJobs();
    await lifecycle("grant_failed:alice:hook:/", "Granting hook at / to alice failed", async () =>
      w.clock.advance(DAY),
    );
  });

  it("a revoke that keeps failing; cleared once it goes through", async () => {
    const receiver = await new WebhookReceiver("hook-secret-0123456789").start();
    try {
      await apply((c) => {
        const hook = c.roles.find((r) => r.key === "hook")!;
        hook.connector = { type: "webhook", url: receiver.url, secretEnv: "PIM_TEST_HOOK_SECRET", timeoutMs: 2_000 };
      });
      let revokesFail = true;
      receiver.answer((d) => ({ status: d.event.type === "revoke" && revokesFail ? 503 : 200 }));
      const registry = new ConnectorRegistry(w.db, { env: { PIM_TEST_HOOK_SECRET: receiver.secret } });
      const worker = new OutboxWorker(w.deps, registry, testLog, {
        workerId: "alerts-test",
        revokeAlertAfter: 2,
        random: () => 0.5,
      });
      const run = async () => {
        await w.settle();
        await worker.drain();
        await w.settle();
      };
      const asked = await requestActivation(w.deps, {
        requesterId: await w.principalId("alice"),
        roles: [{ roleId: await w.engine.role("hook") }],
        durationMs: HOUR,
        justification: "mail",
        origin: "api",
      });
      if (!asked.ok) throw new Error(asked.error.message);
      await run();
      expect((await deactivate(w.deps, asked.value.activations[0]!.id, await w.principalId("alice"))).ok).toBe(true);
      for (let i = 0; i < 3; i++) {
        await run();
        w.clock.advance(10 * MINUTE);
      }
      expect(receiver.of("revoke").length).toBeGreaterThanOrEqual(2);
      await lifecycle("revoke_failing:alice:hook:/", "alice still holds hook at /", async () => {
        revokesFail = false;
        await run();
      });
      await registry.close();
    } finally {
      await receiver.stop();
    }
  });

  describe("incidents: every occurrence is told", () => {
    type Message = Parameters<typeof w.slack.clickInMessage>[1];
    const fieldOf = (m: Message, label: string) => nowSays(m).match(new RegExp(`${label}\\n([^\\n]*)`))?.[1];
    const recurred = async (condition: string) =>
      (
        await w.db
          .select({ data: auditEvents.data })
          .from(auditEvents)
          .where(and(eq(auditEvents.event, "alert.recurred"), sql`${auditEvents.data}->>'condition' = ${condition}`))
          .orderBy(auditEvents.id)
      ).map((e) => e.data);
    const until = (what: string, check: () => boolean | Promise<boolean>) =>
      eventually(async () => ((await check()) ? true : undefined), 5_000, what);
    async function acknowledge(card: Message) {
      expect((await w.slack.clickInMessage("U0ERIN", card, ACTIONS.acknowledge)).status).toBe(200);
      await until("the card acknowledged", () => nowSays(card).includes("acknowledged by Erin Eve"));
      expect(readBlocks(card.blocks, () => undefined).buttons).toEqual([]);
    }
    /** The one card of an incident, drawn as it is now: how often, when last, and whether it can be acknowledged. */
    const shows = (card: Message) => ({
      occurrences: fieldOf(card, "Occurrences"),
      last: fieldOf(card, "Last occurrence"),
      buttons: readBlocks(card.blocks, () => undefined).buttons.map((b) => b.label),
      acknowledged: nowSays(card).includes("acknowledged by"),
    });

    it("a break-glass account used again: the card counts every use, and is re-raised once acknowledged", async () => {
      const glass = await w.principalId("glass");
      const use = async () => {
        const at = w.clock.now().toISOString();
        const asked = await requestActivation(w.deps, {
          requesterId: glass,
          roles: [{ roleId: await w.engine.role("global-admin") }],
          durationMs: HOUR,
          justification: "tenant locked out",
          origin: "api",
        });
        if (!asked.ok) throw new Error(asked.error.message);
        await w.runJobs();
        expect((await deactivate(w.deps, asked.value.activations[0]!.id, glass)).ok).toBe(true);
        await w.runJobs();
        return at;
      };
      const first = await use();
      const card = await eventually(async () => cards("The emergency account glass")[0], 5_000, "the alert");
      await until("the first use counted", () => shows(card).occurrences === "1");
      expect(shows(card)).toEqual({ occurrences: "1", last: first, buttons: ["Acknowledge"], acknowledged: false });

      // A second use within the day: the same card, counted and dated again.
      w.clock.advance(HOUR);
      const second = await use();
      await until("the second use counted", () => shows(card).occurrences === "2");
      expect(shows(card)).toEqual({ occurrences: "2", last: second, buttons: ["Acknowledge"], acknowledged: false });

      // Acknowledged, then used again: raised again, to be acknowledged again.
      await acknowledge(card);
      w.clock.advance(HOUR);
      const third = await use();
      await until("the third use counted", () => shows(card).occurrences === "3");
      expect(shows(card)).toEqual({ occurrences: "3", last: third, buttons: ["Acknowledge"], acknowledged: false });
      expect(cards("The emergency account glass")).toHaveLength(1);
      expect(await rows("break_glass_used:glass")).toMatchObject([
        { status: "open", occurrences: 3, acknowledgedBy: null },
      ]);
      expect(await recurred("break_glass_used:glass")).toMatchObject([
        { occurrences: 2, lastOccurredAt: second },
        { occurrences: 3, lastOccurredAt: third, reraised: true, acknowledgedBy: "erin" },
      ]);

      // Nothing new: nothing redrawn, nothing audited.
      await evaluateAll();
      await w.settle();
      expect(shows(card).occurrences).toBe("3");
      expect(await recurred("break_glass_used:glass")).toHaveLength(2);
      expect(w.errors).toEqual([]);
    });

    it("unauthorized approval attempts: each one counted on the card, re-raised once acknowledged", async () => {
      const asked = await requestActivation(w.deps, {
        requesterId: await w.principalId("bob"),
        roles: [{ roleId: await w.engine.role("db-admin") }],
        durationMs: HOUR,
        justification: "fix",
        origin: "api",
      });
      if (!asked.ok) throw new Error(asked.error.message);
      const frank = await w.principalId("frank");
      const attempt = async () => {
        const tried = await decide(w.deps, {
          requestId: asked.value.requestId,
          approverId: frank,
          decision: "approve",
        });
        expect(tried).toMatchObject({ ok: false, error: { code: "NOT_AN_APPROVER" } });
        await w.settle();
      };
      await attempt();
      const card = await eventually(async () => cards("frank tried to decide")[0], 5_000, "the alert");
      await until("the first attempt counted", () => shows(card).occurrences === "1");
      w.clock.advance(MINUTE);
      await attempt();
      await until("the second attempt counted", () => shows(card).occurrences === "2");
      expect(nowSays(card)).toContain("frank tried to decide 2 requests");
      await acknowledge(card);
      w.clock.advance(MINUTE);
      await attempt();
      await until("re-raised", () => shows(card).occurrences === "3");
      expect(shows(card)).toMatchObject({ buttons: ["Acknowledge"], acknowledged: false });
      expect(cards("frank tried to decide")).toHaveLength(1);
      expect(await recurred("unauthorized_approval:frank")).toMatchObject([
        { occurrences: 2 },
        { occurrences: 3, reraised: true, acknowledgedBy: "erin" },
      ]);
    });

    it("MFA failures past the threshold: each further failure counted, re-raised once acknowledged", async () => {
      await apply((c) => (c.alerts.mfaFailures = { count: 3, windowMs: HOUR }));
      const fail = async () => {
        // What the MFA pages record for each wrong code (src/mfa/step-up.ts); the scheduled evaluation follows.
        await inTransaction(w.deps, async (work) =>
          work.audit({ event: "mfa.failed", actor: "bob", subject: "bob", data: { method: "totp" } }),
        );
        await evaluateAll();
        await w.settle();
        w.clock.advance(MINUTE);
      };
      for (let i = 0; i < 3; i++) await fail();
      const card = await eventually(async () => cards("bob failed the MFA step-up")[0], 5_000, "the alert");
      await until("three failures counted", () => shows(card).occurrences === "3");
      await fail();
      await until("the fourth failure counted", () => shows(card).occurrences === "4");
      await acknowledge(card);
      await fail();
      await until("re-raised", () => shows(card).occurrences === "5");
      expect(shows(card)).toMatchObject({ buttons: ["Acknowledge"], acknowledged: false });
      expect(cards("bob failed the MFA step-up")).toHaveLength(1);
      expect((await recurred("mfa_failures:bob")).map((d) => [d.occurrences, d.reraised ?? false])).toEqual([
        [4, false],
        [5, true],
      ]);
    });
  });

  it("is acknowledged by an administrator from the card, and only by one", async () => {
    await apply((c) => (c.alerts.staleEligibleDays = 300));
    await evaluateAll();
    await w.settle();
    const card = cards("Frank Fox has been eligible for Reader")[0]!;
    const [row] = await rows("stale_eligible:frank:reader");

    // Alice is no administrator: nothing changes.
    expect((await w.slack.clickInMessage("U0ALICE", card, ACTIONS.acknowledge)).status).toBe(200);
    await w.settle();
    expect((await rows("stale_eligible:frank:reader"))[0]!.status).toBe("open");

    expect((await w.slack.clickInMessage("U0ERIN", card, ACTIONS.acknowledge)).status).toBe(200);
    await eventually(
      async () => (nowSays(card).includes("acknowledged by Erin Eve") ? true : undefined),
      5_000,
      "the card acknowledged",
    );
    expect(await rows("stale_eligible:frank:reader")).toMatchObject([
      { id: row!.id, status: "acknowledged", acknowledgedBy: "erin" },
    ]);
    expect(readBlocks(card.blocks, () => undefined).buttons).toEqual([]);

    // Still unresolved: the next evaluation opens nothing new; once it clears it is resolved.
    await evaluateAll();
    expect(await rows("stale_eligible:frank:reader")).toHaveLength(1);
    await activate("frank", "reader");
    await evaluateAll();
    expect(await rows("stale_eligible:frank:reader")).toMatchObject([{ id: row!.id, status: "resolved" }]);
    const acks = await w.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "alert.acknowledged"), eq(auditEvents.actor, "erin")));
    expect(acks).toHaveLength(1);
  });
});
