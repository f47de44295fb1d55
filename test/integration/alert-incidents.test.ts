/**
 * Incident alerts at the use-case level: every break-glass use, refused approval and MFA failure
 * past the threshold reaches the alert channel — the first opens an alert, each later one redraws
 * it with the count and the last occurrence, and one after an acknowledgement raises it again.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { acknowledgeAlert, evaluateAlerts } from "../../src/app/alerts/evaluate.js";
import type { AlertRecord } from "../../src/app/alerts/records.js";
import { type EngineDeps, inTransaction } from "../../src/app/kernel/unit-of-work.js";
import type { ChatMessage, Delivery } from "../../src/app/notices/delivery.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { auditEvents } from "../../src/db/schema/audit.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

describeEachDatabase("incident alerts: every occurrence is told", (driver) => {
  let engine: EngineHarness;
  /**
   * The engine's dependencies with events kept to the test: here the alert use case is driven by
   * hand with its own delivery, so the bot's alert listener must not open the alerts first.
   */
  let deps: EngineDeps;
  let posted: AlertRecord[];
  const delivery: Delivery = {
    toPerson: async () => false,
    toAlertChannel: async (message: ChatMessage) => {
      if (message.type === "alert") posted.push(message.alert);
      return true;
    },
  };
  beforeEach(async () => {
    posted = [];
    engine = await createEngine(driver, "reviews.yaml");
    deps = { ...engine.deps, events: { publish: (event) => engine.events.push(event) } };
    const config = loadFixture("reviews.yaml");
    config.alerts.mfaFailures = { count: 3, windowMs: HOUR };
    await applyConfig(deps, config);
  });
  afterEach(async () => {
    await engine.dispose();
  });

  /** What the channel was given for one condition: occurrences, status, last occurrence. */
  const told = (condition: string) =>
    posted
      .filter((a) => a.conditionKey === condition && a.status !== "resolved")
      .map((a) => [a.occurrences, a.status, a.lastOccurredAt?.toISOString()]);
  const evaluate = (rule: Parameters<typeof evaluateAlerts>[2]) => evaluateAlerts(deps, delivery, rule);
  const audited = async (event: string, condition: string) =>
    engine.handle.db
      .select({ data: auditEvents.data })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, event), sql`${auditEvents.data}->>'condition' = ${condition}`));

  it("tells each break-glass use within the day, and raises the alert again after it was acknowledged", async () => {
    const glass = await engine.user("glass");
    const uses: string[] = [];
    const use = async () => {
      uses.push(engine.clock.now().toISOString());
      const asked = await requestActivation(deps, {
        requesterId: glass,
        roles: [{ roleId: await engine.role("global-admin") }],
        durationMs: HOUR,
        justification: "tenant locked out",
        origin: "api",
      });
      if (!asked.ok) throw new Error(asked.error.message);
      await engine.worker.drain();
      expect((await deactivate(deps, asked.value.activations[0]!.id, glass)).ok).toBe(true);
      await engine.worker.drain();
      const outcome = await evaluate(["break_glass_used"]);
      engine.clock.advance(HOUR);
      return outcome;
    };
    expect((await use()).opened).toHaveLength(1);
    const second = await use();
    expect([second.opened, second.recurred.map((a) => a.occurrences)]).toEqual([[], [2]]);
    const [row] = await engine.handle.db.select().from(alerts).where(eq(alerts.conditionKey, "break_glass_used:glass"));
    expect((await acknowledgeAlert(deps, row!.id, await engine.user("erin"))).ok).toBe(true);
    await use();
    expect(told("break_glass_used:glass")).toEqual([
      [1, "open", uses[0]],
      [2, "open", uses[1]],
      [3, "open", uses[2]],
    ]);
    expect(posted.at(-1)!.fields).toContainEqual({ label: "Occurrences", value: "3" });
    expect((await audited("alert.recurred", "break_glass_used:glass")).map((e) => e.data.reraised ?? false)).toEqual([
      false,
      true,
    ]);

    // Nothing new happened: nothing told; a day after the last use it resolves.
    posted = [];
    expect((await evaluate(["break_glass_used"])).recurred).toEqual([]);
    expect(posted).toEqual([]);
    engine.clock.advance(DAY);
    expect((await evaluate(["break_glass_used"])).resolved).toHaveLength(1);
  });

  it("tells each refused approval and each MFA failure past the threshold", async () => {
    const asked = await requestActivation(deps, {
      requesterId: await engine.user("bob"),
      roles: [{ roleId: await engine.role("db-admin") }],
      durationMs: HOUR,
      justification: "fix",
      origin: "api",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    for (let i = 0; i < 3; i++) {
      const tried = await decide(deps, {
        requestId: asked.value.requestId,
        approverId: await engine.user("frank"),
        decision: "approve",
      });
      expect(tried).toMatchObject({ ok: false, error: { code: "NOT_AN_APPROVER" } });
      await evaluate(["unauthorized_approval"]);
      engine.clock.advance(MINUTE);
    }
    expect(told("unauthorized_approval:frank").map(([n]) => n)).toEqual([1, 2, 3]);

    for (let i = 0; i < 5; i++) {
      await inTransaction(deps, async (work) =>
        work.audit({ event: "mfa.failed", actor: "bob", subject: "bob", data: { method: "totp" } }),
      );
      await evaluate(["mfa_failures"]);
      engine.clock.advance(MINUTE);
    }
    // Opened at the third failure (the threshold), then every further one.
    expect(told("mfa_failures:bob").map(([n]) => n)).toEqual([3, 4, 5]);
  });
});
