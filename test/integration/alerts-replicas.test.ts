import { sql } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { evaluateAlerts } from "../../src/app/alerts/evaluate.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import type { ChatMessage, Delivery } from "../../src/app/notices/delivery.js";
import { declaredReviews, startDeclaredReview } from "../../src/app/reviews/start.js";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { reviewCampaigns } from "../../src/db/schema/reviews.js";
import { describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

/** Counts what would reach chat, per alert: the port's contract, nothing else. */
class CountingDelivery implements Delivery {
  readonly posted: string[] = [];
  async toPerson(): Promise<boolean> {
    return true;
  }
  async toAlertChannel(message: ChatMessage): Promise<boolean> {
    if (message.type === "alert" && message.alert.status === "open") this.posted.push(message.alert.conditionKey);
    return true;
  }
}

describeOnPostgres("several replicas on one PostgreSQL", () => {
  let e: EngineHarness;
  const replicas: DbHandle[] = [];
  beforeEach(async () => {
    e = await createEngine("postgres", "reviews.yaml");
    const config = loadFixture("reviews.yaml");
    config.alerts.staleEligibleDays = 300;
    await applyConfig(e.deps, config);
    for (let i = 0; i < 3; i++)
      replicas.push(await openDatabase({ driver: "postgres", url: e.handle.url!, poolSize: 3 }));
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.close();
    await e.dispose();
  });

  const depsOf = (r: DbHandle): EngineDeps => ({ ...e.deps, db: r.db });

  it("open one alert per condition, posted once, however many evaluate at the same moment", async () => {
    const deliveries = replicas.map(() => new CountingDelivery());
    await Promise.all(
      replicas.flatMap((r, i) => [
        evaluateAlerts(depsOf(r), deliveries[i]!),
        evaluateAlerts(depsOf(r), deliveries[i]!),
      ]),
    );
    const rows = await e.handle.db.select({ condition: alerts.conditionKey }).from(alerts);
    const conditions = rows.map((r) => r.condition);
    expect(conditions.length).toBeGreaterThan(3);
    expect(new Set(conditions).size).toBe(conditions.length);
    const posted = deliveries.flatMap((d) => d.posted).sort();
    expect(posted).toEqual([...conditions].sort());
  });

  it("start a review's occurrence once, whichever replica gets there", async () => {
    const [review] = await declaredReviews(e.handle.db);
    const at = new Date("2026-11-02T09:00:00Z");
    const started = await Promise.all(replicas.map((r) => startDeclaredReview(depsOf(r), review!, at)));
    expect(started.filter((s) => s !== null)).toHaveLength(1);
    const [count] = await e.handle.db.select({ n: sql<number>`count(*)::int` }).from(reviewCampaigns);
    expect(count!.n).toBe(1);
  });
});
