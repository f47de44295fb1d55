import { afterEach, beforeEach, expect, it } from "vitest";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { acknowledgeAlert, evaluateAlerts } from "../../src/app/alerts/evaluate.js";
import { noDelivery } from "../../src/app/notices/delivery.js";
import { mountAlertsApi } from "../../src/http/alerts-api.js";
import { HttpServer } from "../../src/http/server.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture, silentLogger } from "../support/engine.js";

const TOKEN = "alerts-api-token-0123456789abcdef0123";

describeEachDatabase("GET /api/alerts", (driver) => {
  let engine: EngineHarness;
  let http: HttpServer;
  let base: string;
  beforeEach(async () => {
    engine = await createEngine(driver, "reviews.yaml");
    const config = loadFixture("reviews.yaml");
    config.alerts.staleEligibleDays = 300;
    await applyConfig(engine.deps, config);
    // Reader, db-admin and hook do not require MFA (low); alice, bob, dave and frank are stale (low).
    await evaluateAlerts(engine.deps, noDelivery);
    http = new HttpServer(silentLogger);
    expect(mountAlertsApi(http, engine.handle.db, TOKEN)).toBe(true);
    base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}/api/alerts`;
  });
  afterEach(async () => {
    await http.close();
    await engine.dispose();
  });

  const get = (query = "", token: string | null = TOKEN) =>
    fetch(`${base}${query}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  type Listed = {
    alerts: { id: string; condition: string; severity: string; status: string; acknowledgedBy: string | null }[];
  };
  const list = async (query: string) => (await (await get(query)).json()) as Listed;

  it("answers with the alerts as JSON, filtered by status and severity", async () => {
    const all = await get();
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toContain("application/json");
    const body = (await all.json()) as {
      alerts: { condition: string; severity: string; status: string }[];
      count: number;
    };
    expect(body.alerts.map((a) => a.condition).sort()).toEqual([
      "role_without_mfa:db-admin",
      "role_without_mfa:hook",
      "role_without_mfa:reader",
      "stale_eligible:alice:reader",
      "stale_eligible:bob:db-admin",
      "stale_eligible:dave:global-admin",
      "stale_eligible:frank:reader",
    ]);
    expect(body.count).toBe(7);

    const [one] = body.alerts.filter((a) => a.condition === "stale_eligible:frank:reader");
    expect(one).toMatchObject({ severity: "low", status: "open" });
    const [row] = (await list("?status=open")).alerts.filter((a) => a.condition === "stale_eligible:frank:reader");
    expect((await acknowledgeAlert(engine.deps, row!.id, await engine.user("erin"))).ok).toBe(true);
    const open = await list("?status=open");
    expect(open.alerts.map((a) => a.condition)).not.toContain("stale_eligible:frank:reader");
    const acked = await list("?status=acknowledged&severity=low");
    expect(acked.alerts).toEqual([expect.objectContaining({ acknowledgedBy: "erin", status: "acknowledged" })]);
    expect((await list("?severity=high")).alerts).toEqual([]);
    expect((await list("?limit=2")).alerts).toHaveLength(2);
    expect((await list("?status=open,acknowledged&severity=low,medium")).alerts).toHaveLength(7);
  });

  it("refuses requests without the right bearer token, and bad filters with a clear message", async () => {
    for (const token of [null, "wrong", `${TOKEN}x`]) {
      const res = await get("", token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    const bad = await get("?severity=critical");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe(
      'severity must be one or more of low, medium, high (comma-separated); got "critical"',
    );
    expect((await get("?limit=0")).status).toBe(400);
  });

  it("is not there at all without ALERTS_API_TOKEN", async () => {
    const off = new HttpServer(silentLogger);
    expect(mountAlertsApi(off, engine.handle.db, undefined)).toBe(false);
    const port = await off.listen(0, "127.0.0.1");
    try {
      expect(
        (await fetch(`http://127.0.0.1:${port}/api/alerts`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(404);
    } finally {
      await off.close();
    }
  });
});
