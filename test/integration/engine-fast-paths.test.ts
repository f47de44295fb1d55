import { eq, sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { inTransaction, type Work } from "../../src/app/kernel/unit-of-work.js";
import { openDatabase } from "../../src/db/client.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { expandToUsers, principalById, principalIdsByKeys } from "../../src/db/repos/directory.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { OutboxWorker } from "../../src/jobs/outbox-worker.js";
import { Scheduler } from "../../src/jobs/scheduler.js";
import { describeEachDatabase, describeOnPostgres } from "../support/databases.js";
import { silentLogger } from "../support/engine.js";
import { createHarness, eventually, type Harness, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";

/** The paths that keep a lifecycle to few round trips must not change what the engine decides. */
describeEachDatabase("engine fast paths", (driver) => {
  let h: Harness | undefined;
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await h?.dispose();
    h = undefined;
  });

  async function harness(count = 2) {
    const { yaml, users } = crowdPolicy(count, "{ type: log }", { approval: true });
    h = await createHarness(driver, parseConfig(yaml));
    return { h, users };
  }

  /** A request for app-admin by `requesterId`, approved by the boss; the activation's id. */
  async function requestApproved(requesterId: string): Promise<string> {
    const r = await requestActivation(h!.deps, {
      requesterId,
      roles: [{ roleId: await h!.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const decided = await decide(h!.deps, {
      requestId: r.value.requestId,
      approverId: await h!.user("boss"),
      decision: "approve",
    });
    if (!decided.ok) throw new Error(decided.error.message);
    return r.value.activations[0]!.id;
  }

  /** A unit of work of the bot's, whose directory reads use the process's cache. */
  const inTx = <T>(fn: (tx: Work["tx"]) => Promise<T>) => inTransaction(h!.deps, (work) => fn(work.tx));

  it("reads the directory again once any write to it has committed", async () => {
    const { users } = await harness();
    const id = await h!.user(users[0]!);
    const boss = await h!.user("boss");
    const approvers = await h!.user("approvers");
    expect((await inTx((tx) => principalById(tx, id)))?.name).toBe(users[0]);
    expect([...(await inTx((tx) => expandToUsers(tx, [approvers])))]).toEqual([boss]);

    // Written behind the engine's back, as another replica's apply would.
    await h!.handle.db.execute(sql`update principals set name = 'Renamed' where id = ${id}`);
    await h!.handle.db.execute(sql`insert into group_members (group_id, member_id) values (${approvers}, ${id})`);

    expect((await inTx((tx) => principalById(tx, id)))?.name).toBe("Renamed");
    expect([...(await inTx((tx) => expandToUsers(tx, [approvers])))].sort()).toEqual([boss, id].sort());
  });

  it("moves the directory's version even when triggers are off for a restore", async () => {
    await harness();
    const version = async () =>
      JSON.stringify(await h!.handle.db.execute(sql`select version from directory_version where id = 1`));
    const before = await version();
    await h!.handle.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`update roles set name = 'Restored'`);
    });
    expect(await version()).not.toBe(before);
  });

  it("shares kept values frozen and hands out collections of the caller's own", async () => {
    const { users } = await harness();
    const id = await h!.user(users[0]!);
    const kept = await inTx((tx) => principalById(tx, id));
    expect(() => Object.assign(kept!, { name: "changed" })).toThrow(TypeError);

    const first = await inTx((tx) => principalIdsByKeys(tx, [users[0]!, users[1]!]));
    first.pop();
    expect(await inTx((tx) => principalIdsByKeys(tx, [users[0]!, users[1]!]))).toHaveLength(2);
  });

  it("runs a grant written claimed by this worker at once, with no claim round", async () => {
    const { users } = await harness();
    scheduler = new Scheduler(h!.deps, h!.worker, h!.deps.units!.claims, silentLogger, {
      sweepIntervalMs: 60_000,
      timerHorizonMs: HOUR,
    });
    h!.subscribe(scheduler.onEvent);
    await scheduler.start();

    const id = await requestApproved(await h!.user(users[0]!));
    await eventually(async () => (await getActivation(h!.deps.db, id))?.status === "active", 5_000, "the grant");

    const [job] = await h!.handle.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, id));
    expect(job).toMatchObject({ kind: "grant", status: "done", attempts: 1 });
    // Announced with its claimed row, which the scheduler ran: no claim round took it.
    const written = h!.events.find((e) => e.type === "holding.job" && e.jobId === job!.id);
    expect(written).toMatchObject({ claimed: [{ id: job!.id, lockedBy: "test-worker", attempts: 1 }] });
  });

  it("leaves a claimed grant to another worker once the claimant's lease runs out", async () => {
    const { users } = await harness();
    // This process writes the grant claimed, then dies before running it: no scheduler listens.
    h!.deps.units!.claims.open({ workerId: "gone", leaseMs: 30_000 });
    const id = await requestApproved(await h!.user(users[0]!));
    const other = new OutboxWorker({ ...h!.deps, units: undefined }, h!.connectors, silentLogger, {
      workerId: "other",
    });

    expect(await other.runOnce()).toBe(0);
    h!.clock.advance(30_001);
    expect(await other.runOnce()).toBe(1);
    expect((await getActivation(h!.deps.db, id))?.status).toBe("active");
    const [job] = await h!.handle.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, id));
    expect(job).toMatchObject({ status: "done", attempts: 2 });
  });

  it("writes a job unclaimed when its holding already has one pending, so they run in order", async () => {
    const { users } = await harness();
    h!.deps.units!.claims.open({ workerId: "here", leaseMs: 30_000 });
    const user = await h!.user(users[0]!);
    const role = await h!.role("app-admin");
    // A revoke of the same holding, due later, is still pending.
    await h!.handle.db.insert(outboxJobs).values({
      id: "job_earlier",
      kind: "revoke",
      key: `holding:${user}:${role}:/`,
      payload: { principalId: user, roleId: role, scope: "/", until: null },
      runAt: h!.clock.now(),
    });
    const id = await requestApproved(user);
    const [grant] = await h!.handle.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, id));
    expect(grant).toMatchObject({ kind: "grant", lockedBy: null, attempts: 0 });
  });
});

describeOnPostgres("transactions on the PostgreSQL server", () => {
  it("rolls back when the statement sent with BEGIN fails, and nested transactions keep to savepoints", async () => {
    const { createTestDatabase } = await import("../support/databases.js");
    const handle = await createTestDatabase("postgres");
    try {
      await handle.db.execute(sql`create table t (n int primary key)`);
      await expect(
        handle.db.transaction(async (tx) => {
          await tx.execute(sql`insert into t values (1), (1)`);
        }),
      ).rejects.toThrow();
      await handle.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (2)`);
        await expect(
          tx.transaction(async (inner) => {
            await inner.execute(sql`insert into t values (3)`);
            throw new Error("inner gives up");
          }),
        ).rejects.toThrow("inner gives up");
        await tx.transaction(async (inner) => {
          await inner.execute(sql`insert into t values (4)`);
        });
      });
      expect(JSON.stringify(await handle.db.execute(sql`select n from t order by n`))).toBe('[{"n":2},{"n":4}]');

      // Another replica sees the directory change this one made.
      const other = await openDatabase({ driver: "postgres", url: handle.url! });
      try {
        await handle.db.execute(
          sql`insert into principals (id, key, kind, name) values ('usr_x', 'x', 'user', 'Before')`,
        );
        const read = () => other.db.transaction((tx) => principalById(tx, "usr_x"));
        expect((await read())?.name).toBe("Before");
        await handle.db.execute(sql`update principals set name = 'After' where id = 'usr_x'`);
        expect((await read())?.name).toBe("After");
      } finally {
        await other.close();
      }
    } finally {
      await handle.dispose();
    }
  });
});
