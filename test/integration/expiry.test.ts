import { and, eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { queryAudit, verifyAuditChain } from "../../src/db/audit-log.js";
import { getActivation, type StoredActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { Scheduler } from "../../src/jobs/scheduler.js";
import { ManualClock } from "../support/clock.js";
import { describeEachDatabase } from "../support/databases.js";
import { loadFixture, silentLogger } from "../support/engine.js";

import { createHarness, eventually, type Harness, LiveClock, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";

describeEachDatabase("precise expiry", (driver) => {
  let e: Harness | undefined;
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await e?.dispose();
    e = undefined;
  });

  async function harness(...args: Parameters<typeof createHarness>) {
    e = await createHarness(...args);
    return e;
  }

  function startScheduler(h: Harness) {
    scheduler = new Scheduler(h.deps, h.worker, h.deps.units!.claims, silentLogger, {
      sweepIntervalMs: 60_000,
      timerHorizonMs: 10 * 60_000,
    });
    h.subscribe(scheduler.onEvent);
    return scheduler;
  }

  async function activate(h: Harness, user: string, durationMs: number, drain = true) {
    const r = await requestActivation(h.deps, {
      requesterId: await h.user(user),
      roles: [{ roleId: await h.role("app-admin") }],
      durationMs,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    if (drain) await h.worker.drain();
    return r.value.activations[0]!;
  }

  /** The activation once it has reached `status`, within 5 s. */
  function reachesStatus(h: Harness, id: string, status: StoredActivation["status"], what: string) {
    return eventually(
      async () => {
        const row = await getActivation(h.deps.db, id);
        return row!.status === status ? row : undefined;
      },
      5_000,
      what,
    );
  }

  async function held(h: Harness, login: string) {
    const rows = await h.handle.db.select().from(logHoldings).where(eq(logHoldings.login, login));
    return rows.length > 0;
  }

  it("after downtime, revokes everything overdue at start-up, oldest first", async () => {
    const { yaml, users } = crowdPolicy(3, "{ type: log }");
    // One target call at a time, so the order calls finish in is the order they were made in.
    const h = await harness(driver, parseConfig(yaml), { worker: { concurrency: 1 } });
    const [u0, u1, u2] = users as [string, string, string];
    const a0 = await activate(h, u0, 3 * HOUR);
    const a1 = await activate(h, u1, 1 * HOUR);
    const a2 = await activate(h, u2, 2 * HOUR);
    h.clock.advance(4 * HOUR); // the bot was down all this time

    await startScheduler(h).start();
    await scheduler!.stop();

    for (const a of [a0, a1, a2]) {
      const after = await getActivation(h.deps.db, a.id);
      expect(after!.status === "ended" && after!.reason).toBe("expired");
    }
    const oldestFirst = [a1.id, a2.id, a0.id];
    expect((await queryAudit(h.deps.db, { event: "activation.ending" })).map((r) => r.activationId)).toEqual(
      oldestFirst,
    );
    expect((await queryAudit(h.deps.db, { event: "connector.revoke.succeeded" })).map((r) => r.activationId)).toEqual(
      oldestFirst,
    );
    for (const u of users) expect(await held(h, u)).toBe(false);
    expect(await verifyAuditChain(h.handle)).toMatchObject({ ok: true });
  });

  it("ends an activation within a second of its end time on the real timer", async () => {
    const { yaml, users } = crowdPolicy(1, "{ type: log }");
    const clock = new LiveClock();
    const h = await harness(driver, parseConfig(yaml), { clock });
    // Granted an hour ago, less 800 ms: it ends 800 ms from now.
    clock.offsetMs = -(HOUR - 800);
    const a = await activate(h, users[0]!, HOUR);
    clock.offsetMs = 0;
    await startScheduler(h).start();
    const active = await getActivation(h.deps.db, a.id);
    if (active?.status !== "active") throw new Error(`expected active, got ${active?.status}`);
    expect(scheduler!.nextWake).toEqual(active.endsAt);

    const ended = await reachesStatus(h, a.id, "ended", "the activation to end");
    if (ended.status !== "ended") throw new Error("unreachable");
    const lag = ended.closedAt.getTime() - ended.endsAt.getTime();
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(1_000);
    expect(await held(h, users[0]!)).toBe(false);
  });

  it("arms a timer for an end that fell due while a pass was running", async () => {
    const { yaml, users } = crowdPolicy(2, "{ type: log }");
    const h = await harness(driver, parseConfig(yaml));
    const first = await activate(h, users[0]!, HOUR);
    h.clock.advance(1);
    const second = await activate(h, users[1]!, HOUR);
    const ends = async (a: { id: string }) => {
      const row = await getActivation(h.deps.db, a.id);
      if (row?.status !== "active") throw new Error(`expected active, got ${row?.status}`);
      return row.endsAt;
    };
    const secondEnds = await ends(second);
    h.clock.set(await ends(first));
    // The pass ends the first; by the time it looks for the next thing due, the second's end
    // (a millisecond after the first's) has passed too.
    let moved = false;
    h.subscribe((event) => {
      if (moved || event.type !== "request.changed" || event.requestId !== first.requestId) return;
      moved = true;
      h.clock.set(new Date(secondEnds.getTime() + 5));
    });
    await startScheduler(h).start();
    expect(moved).toBe(true);
    const ended = await reachesStatus(h, second.id, "ended", "the second activation to end without the next sweep");
    expect(ended.status === "ended" && ended.reason).toBe("expired");
  });

  it("arms the end of an activation as soon as its grant is confirmed", async () => {
    const { yaml, users } = crowdPolicy(2, "{ type: log }");
    const h = await harness(driver, parseConfig(yaml));
    scheduler = new Scheduler(h.deps, h.worker, h.deps.units!.claims, silentLogger, {
      sweepIntervalMs: 60_000,
      timerHorizonMs: 2 * HOUR,
    });
    h.subscribe(scheduler.onEvent);
    await scheduler.start();
    expect(scheduler.nextWake).toBeUndefined();
    // No manual drain here: the scheduler's own worker, woken by the new jobs, grants both.
    const later = await activate(h, users[0]!, 2 * HOUR, false);
    const sooner = await activate(h, users[1]!, HOUR, false);
    const active = (id: string) => reachesStatus(h, id, "active", `activation ${id} to be active`);
    await active(later.id);
    const b = await active(sooner.id);
    if (b.status !== "active") throw new Error("unreachable");
    expect(scheduler.nextWake).toEqual(b.endsAt);
  });

  it("ends a time-bound active assignment on its scheduled revoke, on the real timer", async () => {
    const { yaml } = crowdPolicy(1, "{ type: log }");
    const h = await harness(driver, parseConfig(yaml), { clock: new LiveClock() });
    await startScheduler(h).start();
    const end = new Date(Date.now() + 2_000);
    const withAssignment = `${yaml}  - { principal: boss, role: app-admin, kind: active, end: "${end.toISOString()}", justification: on call }\n`;
    await applyConfig(h.deps, parseConfig(withAssignment));
    await eventually(() => held(h, "boss"), 2_000, "the assignment's grant");
    const gone = await eventually(
      async () => ((await held(h, "boss")) ? undefined : Date.now()),
      5_000,
      "the assignment's revoke",
    );
    expect(gone - end.getTime()).toBeGreaterThanOrEqual(0);
    expect(gone - end.getTime()).toBeLessThan(1_000);
  });

  it("times out a request that no approver decided, on the sweep", async () => {
    const config = loadFixture("engine.yaml");
    const h = await harness(driver, config, { clock: new ManualClock() });
    const r = await requestActivation(h.deps, {
      requesterId: await h.user("alice"),
      roles: [{ roleId: await h.role("db-admin") }],
      durationMs: HOUR,
      justification: "restore",
      ticket: "INC-123456",
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const id = r.value.activations[0]!.id;
    startScheduler(h);
    h.clock.advance(2 * HOUR - 1);
    await scheduler!.sweep();
    expect((await getActivation(h.deps.db, id))!.status).toBe("pending_approval");
    h.clock.advance(1);
    await scheduler!.sweep();
    expect((await getActivation(h.deps.db, id))!.status).toBe("timed_out");
    const [timedOut] = await queryAudit(h.deps.db, { event: "activation.timed_out" });
    expect(timedOut!.activationId).toBe(id);
  });

  it("two schedulers on one database end each activation once", async () => {
    const { yaml, users } = crowdPolicy(40, "{ type: log }");
    const h = await harness(driver, parseConfig(yaml));
    for (const u of users) await activate(h, u, HOUR);
    h.clock.advance(HOUR);
    const other = new Scheduler(h.deps, h.worker, h.deps.units!.claims, silentLogger, {
      sweepIntervalMs: 60_000,
      timerHorizonMs: 60_000,
      expiryBatchSize: 7,
    });
    const mine = startScheduler(h);
    await Promise.all([mine.sweep(), other.sweep()]);
    await mine.stop();
    await other.stop();
    expect(await queryAudit(h.deps.db, { event: "activation.ending" })).toHaveLength(40);
    expect(await queryAudit(h.deps.db, { event: "activation.ended" })).toHaveLength(40);
    const stillHeld = await h.handle.db
      .select()
      .from(logHoldings)
      .where(and(eq(logHoldings.role, "app-admin")));
    expect(stillHeld).toHaveLength(0);
  });
});
