import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { expireDueActivations } from "../../src/app/activation/expire.js";
import { requestExtension } from "../../src/app/activation/extend.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase, describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { postgresPolicy } from "../support/policies.js";
import { PostgresTarget } from "../support/postgres-target.js";

describeEachDatabase("overlapping holdings", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
  });
  afterEach(() => e.dispose());

  async function held(login: string, role = "reader") {
    const rows = await e.handle.db
      .select()
      .from(logHoldings)
      .where(and(eq(logHoldings.login, login), eq(logHoldings.role, role)));
    return rows.length > 0;
  }

  async function activateReader(user = "alice") {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role("reader") }],
      durationMs: HOUR,
      justification: "investigate",
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    await e.worker.drain();
    return r.value.activations[0]!;
  }

  it("two overlapping activations: the first ends, the role stays; the second ends, it goes", async () => {
    const alice = await e.user("alice");
    const first = await activateReader();
    e.clock.advance(50 * 60_000);
    const second = await requestExtension(e.deps, {
      activationId: first.id,
      userId: alice,
      durationMs: HOUR,
      origin: "api",
    });
    if (!second.ok) throw new Error(second.error.message);
    const secondId = second.value.activations[0]!.id;
    // The first runs out before the second's grant has even been tried.
    e.clock.advance(10 * 60_000);
    expect(await expireDueActivations(e.deps, 100)).toBe(1);
    expect((await getActivation(e.deps.db, first.id))!.status).toBe("ending");
    await e.worker.drain();

    expect((await getActivation(e.deps.db, first.id))!.status).toBe("ended");
    expect((await getActivation(e.deps.db, secondId))!.status).toBe("active");
    expect(await held("alice")).toBe(true);
    const [skipped] = await queryAudit(e.deps.db, { event: "connector.revoke.skipped" });
    expect(skipped!.activationId).toBe(first.id);
    expect(skipped!.data.detail).toBe(`still held: activation ${secondId}`);

    e.clock.advance(HOUR);
    expect(await expireDueActivations(e.deps, 100)).toBe(1);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, secondId))!.status).toBe("ended");
    expect(await held("alice")).toBe(false);
  });

  it("an extension supersedes without a gap: the old one's revoke is skipped", async () => {
    const alice = await e.user("alice");
    const first = await activateReader();
    e.clock.advance(30 * 60_000);
    const second = await requestExtension(e.deps, {
      activationId: first.id,
      userId: alice,
      durationMs: HOUR,
      origin: "api",
    });
    if (!second.ok) throw new Error(second.error.message);
    await e.worker.drain();
    const old = await getActivation(e.deps.db, first.id);
    expect(old!.status === "ended" && old!.reason).toBe("superseded");
    expect(await held("alice")).toBe(true);
    await deactivate(e.deps, second.value.activations[0]!.id, alice);
    await e.worker.drain();
    expect(await held("alice")).toBe(false);
  });

  it("an activation on top of an active assignment ends: still held; the assignment goes: revoked", async () => {
    const alice = await e.user("alice");
    const a = await activateReader();
    const withAssignment = loadFixture("engine.yaml");
    withAssignment.assignments.push({
      principal: "alice",
      role: "reader",
      scope: "/",
      kind: "active",
      start: null,
      end: null,
      justification: "on call this week",
    });
    await applyConfig(e.deps, withAssignment);
    await e.worker.drain();
    expect(await held("alice")).toBe(true);

    await deactivate(e.deps, a.id, alice);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("ended");
    expect(await held("alice")).toBe(true);
    const [skipped] = await queryAudit(e.deps.db, { event: "connector.revoke.skipped" });
    expect(String(skipped!.data.detail)).toMatch(/^still held: assignment asg_/);

    await applyConfig(e.deps, loadFixture("engine.yaml"));
    await e.worker.drain();
    expect(await held("alice")).toBe(false);
  });

  it("a time-bound active assignment expires through its scheduled revoke, on the second", async () => {
    expect(await held("carol")).toBe(false);
    await e.worker.drain();
    expect(await held("carol")).toBe(true);
    e.clock.set("2026-12-31T23:59:59.999Z");
    await e.worker.drain();
    expect(await held("carol")).toBe(true);
    e.clock.set("2027-01-01T00:00:00.000Z");
    expect(await e.worker.drain()).toBe(1);
    expect(await held("carol")).toBe(false);
  });
});

describeOnPostgres("overlapping holdings on a PostgreSQL target", () => {
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
    e = await createHarness("postgres", parseConfig(postgresPolicy(names)), {
      env: { PIM_TEST_TARGET_URL: target.url },
    });
  });
  afterEach(async () => {
    await e.dispose();
    await target.dispose();
  });

  async function activate(scope: string) {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(names.alice),
      roles: [{ roleId: await e.role("db-admin"), scope }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const d = await decide(e.deps, {
      requestId: r.value.requestId,
      approverId: await e.user(names.boss),
      decision: "approve",
    });
    if (!d.ok) throw new Error(d.error.message);
    await e.worker.drain();
    return r.value.activations[0]!;
  }

  it("two activations at different scopes are one membership: it goes only when both have ended", async () => {
    const narrow = await activate("/mg/prod/db");
    const wide = await activate("/mg/prod");
    expect((await getActivation(e.deps.db, wide.id))!.status).toBe("active");
    expect(await target.isMember(names.alice, names.role)).toBe(true);

    await deactivate(e.deps, narrow.id, await e.user(names.alice));
    await e.worker.drain();
    expect((await getActivation(e.deps.db, narrow.id))!.status).toBe("ended");
    expect(await target.isMember(names.alice, names.role)).toBe(true);

    await deactivate(e.deps, wide.id, await e.user(names.alice));
    await e.worker.drain();
    expect(await target.isMember(names.alice, names.role)).toBe(false);
  });
});
