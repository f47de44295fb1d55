import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { detectDrift } from "../../src/jobs/drift.js";
import { describeEachDatabase, describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { postgresPolicy } from "../support/policies.js";
import { PostgresTarget } from "../support/postgres-target.js";

describeEachDatabase("drift detection", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
    await e.worker.drain(); // carol's active assignment
  });
  afterEach(() => e.dispose());

  async function held(login: string, role = "reader") {
    const rows = await e.handle.db
      .select()
      .from(logHoldings)
      .where(and(eq(logHoldings.login, login), eq(logHoldings.role, role)));
    return rows.length > 0;
  }

  async function activateReader() {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user("alice"),
      roles: [{ roleId: await e.role("reader") }],
      durationMs: HOUR,
      justification: "investigate",
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.activations[0]!;
  }

  it("finds nothing when the target holds exactly what PIM says, including work in flight", async () => {
    const a = await activateReader();
    let report = await detectDrift(e.deps, e.connectors);
    expect(report).toMatchObject({ compared: 1, unexpected: [], revokedAgain: [], regranted: [] });
    await e.worker.drain();
    await deactivate(e.deps, a.id, await e.user("alice")); // ending, revoke still pending
    report = await detectDrift(e.deps, e.connectors);
    expect(report).toMatchObject({ unexpected: [], revokedAgain: [], regranted: [] });
    await e.worker.drain();
    report = await detectDrift(e.deps, e.connectors);
    expect(report).toMatchObject({ unexpected: [], revokedAgain: [], regranted: [] });
  });

  it("records a holding granted outside PIM and alerts once", async () => {
    await e.handle.db
      .insert(logHoldings)
      .values({ login: "bob", role: "reader", scope: "/", grantedBy: "dba by hand" });
    const report = await detectDrift(e.deps, e.connectors);
    expect(report.unexpected).toEqual([{ connector: "log", login: "bob", role: "reader", scope: "/" }]);
    const [row] = await queryAudit(e.deps.db, { event: "drift.unexpected_holding" });
    expect(row).toMatchObject({ subject: "bob", role: "reader", scope: "/" });
    expect(e.events).toContainEqual({
      type: "alert",
      kind: "assigned_outside_pim",
      subject: "bob",
      detail: expect.objectContaining({ connector: "log", role: "reader" }),
    });
    expect(await held("bob")).toBe(true); // recorded, not taken away

    await detectDrift(e.deps, e.connectors);
    expect(await queryAudit(e.deps.db, { event: "drift.unexpected_holding" })).toHaveLength(1);
    expect(e.events.filter((x) => x.type === "alert" && x.kind === "assigned_outside_pim")).toHaveLength(1);
  });

  it("revokes again what PIM ended but the target still holds", async () => {
    const a = await activateReader();
    await e.worker.drain();
    await deactivate(e.deps, a.id, await e.user("alice"));
    await e.worker.drain();
    expect(await held("alice")).toBe(false);
    // Someone puts it back by hand, or the target restored a backup.
    await e.handle.db.insert(logHoldings).values({ login: "alice", role: "reader", scope: "/" });

    const report = await detectDrift(e.deps, e.connectors);
    expect(report.revokedAgain).toEqual([{ connector: "log", login: "alice", role: "reader", scope: "/" }]);
    expect(report.unexpected).toEqual([]);
    await e.worker.drain();
    expect(await held("alice")).toBe(false);
    expect(await queryAudit(e.deps.db, { event: "drift.revoked_again" })).toHaveLength(1);
  });

  it("grants again what PIM says is held but the target lost", async () => {
    expect(await held("carol")).toBe(true);
    await e.handle.db.delete(logHoldings).where(eq(logHoldings.login, "carol"));
    const report = await detectDrift(e.deps, e.connectors);
    expect(report.regranted).toEqual([{ connector: "log", login: "carol", role: "reader", scope: "/" }]);
    await e.worker.drain();
    expect(await held("carol")).toBe(true);
    expect((await detectDrift(e.deps, e.connectors)).regranted).toEqual([]);
  });
});

describeOnPostgres("drift detection on a PostgreSQL target", () => {
  let target: PostgresTarget;
  let e: Harness;
  let names: { alice: string; bob: string; boss: string; role: string };

  beforeEach(async () => {
    target = await PostgresTarget.create();
    names = {
      alice: target.name("alice"),
      bob: target.name("bob"),
      boss: target.name("boss"),
      role: `db_admin_${target.suffix}`,
    };
    await target.createRole(names.role);
    await target.createRole(names.alice, { login: true });
    await target.createRole(names.bob, { login: true });
    e = await createHarness("postgres", parseConfig(postgresPolicy(names)), {
      env: { PIM_TEST_TARGET_URL: target.url },
    });
  });
  afterEach(async () => {
    await e.dispose();
    await target.dispose();
  });

  it("reads pg_auth_members: a membership granted by hand is reported, PIM's own is not", async () => {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(names.alice),
      roles: [{ roleId: await e.role("db-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    await decide(e.deps, { requestId: r.value.requestId, approverId: await e.user(names.boss), decision: "approve" });
    await e.worker.drain();
    await target.sql.unsafe(`grant "${names.role}" to "${names.bob}"`);

    const report = await detectDrift(e.deps, e.connectors);
    expect(report.unexpected).toEqual([{ connector: "postgres", login: names.bob, role: names.role, scope: "/" }]);
    expect(report.revokedAgain).toEqual([]);
    expect(report.regranted).toEqual([]);
  });
});
