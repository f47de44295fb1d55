import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { systemClock } from "../../src/app/kernel/clock.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { type DbHandle, isTransientError, openDatabase } from "../../src/db/client.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { HOUR } from "../../src/domain/duration.js";
import { eventually } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";
import { type BotProcess, startBot } from "./support/bot-process.js";
import { describeWithThrowawayServer } from "./support/suite.js";
import { ThrowawayPostgres } from "./support/throwaway-postgres.js";

/**
 * A real bot process on a PostgreSQL server of the test's own, which the test stops and starts
 * like a restart or a failover: the bot must neither crash nor lose work, whether it is busy or
 * paused (SIGSTOP) while the server goes away.
 */
describeWithThrowawayServer("the bot across database restarts", () => {
  let server: ThrowawayPostgres;
  let bot: BotProcess;
  let handle: DbHandle;
  let deps: EngineDeps;
  let users: string[];
  let roleId: string;
  let next = 0;

  beforeAll(async () => {
    server = await ThrowawayPostgres.create();
    const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe("create database pim");
    await admin.end();
    const policy = crowdPolicy(400, "{ type: log }");
    users = policy.users;
    const file = join(tmpdir(), `pim-restart-${process.pid}.yaml`);
    writeFileSync(file, policy.yaml);
    bot = await startBot({
      DATABASE_URL: server.url("pim"),
      PIM_CONFIG: file,
      SWEEP_INTERVAL: "1s",
      OUTBOX_LEASE: "5s",
      LOG_LEVEL: "info",
    });
    await bot.waitFor(/pim-bot is running/, 90_000);
    // The test's own client gives up on a lost connection sooner than the bot, so that its
    // requests are tried again well within the test's patience.
    handle = await openDatabase({
      driver: "postgres",
      url: server.url("pim"),
      poolSize: 4,
      connectionWaitMs: 2_000,
      statementAnswerMs: 5_000,
    });
    deps = { db: handle.db, clock: systemClock, events: { publish: () => {} } };
    [{ id: roleId }] = (await handle.db.select({ id: roles.id }).from(roles).where(eq(roles.key, "app-admin"))) as [
      { id: string },
    ];
  }, 180_000);

  afterAll(async () => {
    await bot?.stop();
    await handle?.close().catch(() => {});
    await server?.dispose();
  });

  /** Asks for the role for the next user; the bot's sweep grants it. Undefined when the database refused. */
  async function request(): Promise<string | undefined> {
    const key = users[next++]!;
    try {
      const [user] = await handle.db.select({ id: principals.id }).from(principals).where(eq(principals.key, key));
      const r = await requestActivation(deps, {
        requesterId: user!.id,
        roles: [{ roleId }],
        durationMs: HOUR,
        origin: "api",
      });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.activations[0]!.id;
    } catch (error) {
      if (outage(error)) return undefined;
      throw error;
    }
  }

  /**
   * An error of the server being away, here or in its cause, as opposed to a bug: what the bot
   * itself takes for one (a socket error such as a write on a connection the restart closed, a
   * shutdown SQLSTATE), or the driver's words for it.
   */
  function outage(error: unknown): boolean {
    if (isTransientError(error)) return true;
    for (let e = error; e instanceof Error; e = e.cause)
      if (
        /refused|closed|terminat|ECONN|CONNECT|shutting down|starting up/i.test(
          `${e.message} ${(e as { code?: string }).code}`,
        )
      )
        return true;
    return false;
  }

  /**
   * Watches the bot's work through a connection of its own for each look, so that what the test's
   * own pool went through in the restart cannot hide what the bot did.
   */
  async function allActive(ids: string[], ms: number): Promise<void> {
    let seen = "nothing read yet";
    await eventually(
      async () => {
        // Like the bot's clients, it asks no type question on connect (see src/db/client.ts).
        const probe = postgres(server.url("pim"), {
          max: 1,
          connect_timeout: 2,
          onnotice: () => {},
          fetch_types: false,
        });
        try {
          const rows = await probe<{ status: string }[]>`select status from activations where id in ${probe(ids)}`;
          const active = rows.filter((r) => r.status === "active").length;
          seen = `${active} of ${ids.length} active`;
          if (active < ids.length) seen += `; not yet: ${JSON.stringify(await stuck(probe, ids))}`;
          return active === ids.length;
        } catch (error) {
          seen = `reading failed: ${(error as Error).message}`;
          return false;
        } finally {
          await probe.end({ timeout: 1 }).catch(() => {});
        }
      },
      ms,
      `all ${ids.length} activations to be granted by the bot`,
      200,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message} (${seen}; the bot is ${bot.alive() ? "running" : "gone"}): ${bot.output().slice(-4000)}`,
      );
    });
  }

  /** The activations not yet active, each with its jobs, to say where their grant stands. */
  function stuck(probe: postgres.Sql, ids: string[]) {
    return probe`
      select a.id, a.status, j.kind, j.status as job, j.attempts, j.run_at, j.locked_until, j.locked_by, j.last_error
      from activations a left join outbox_jobs j on j.activation_id = a.id
      where a.id in ${probe(ids)} and a.status <> 'active'`;
  }

  it("keeps running when the server restarts under load, and grants everything asked for", async () => {
    const asked: string[] = [];
    let loading = true;
    const lanes = Array.from({ length: 3 }, async () => {
      while (loading) {
        // The test's own client may wait on a connection the restart closed; a request that does not
        // answer within 15 s is dropped like a refused one, so only the bot is under test here.
        const id = await Promise.race([
          request(),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
        ]);
        if (id) asked.push(id);
        else await new Promise((r) => setTimeout(r, 100));
      }
    });
    const readiness = (async () => {
      while (loading) {
        await fetch(`http://127.0.0.1:${bot.port}/readyz`, { signal: AbortSignal.timeout(3_000) }).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await eventually(async () => asked.length >= 10, 30_000, "some grants before the restart");
    const before = asked.length;
    await server.restart();
    await eventually(async () => asked.length >= before + 10, 60_000, "requests to go through again");
    loading = false;
    await Promise.all([...lanes, readiness]);

    expect(bot.alive(), bot.output()).toBe(true);
    await allActive(asked, 60_000);
    expect(bot.output()).not.toMatch(/TypeError|uncaught/i);
  }, 180_000);

  it("keeps running when the server restarts while it is paused, and grants what is asked next", async () => {
    // The bot holds open connections to the server from its last sweeps.
    const warm = [await request(), await request()].filter((id): id is string => id !== undefined);
    await allActive(warm, 30_000);

    bot.pause();
    try {
      await server.restart();
    } finally {
      bot.resume();
    }
    // Its next sweeps start on connections the server closed while it was not looking.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(bot.alive(), bot.output()).toBe(true);

    const after: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await eventually(request, 30_000, "a request to go through");
      after.push(id);
    }
    await allActive(after, 60_000);
    expect(bot.alive(), bot.output()).toBe(true);
    expect(bot.output()).not.toMatch(/TypeError|uncaught/i);
  }, 180_000);

  it("answers /readyz with 503 within a second while the server is down, naming no host or user", async () => {
    await server.stop();
    try {
      for (let i = 0; i < 3; i++) {
        // Aborted (and the test failed) if no answer comes within a second.
        const res = await fetch(`http://127.0.0.1:${bot.port}/readyz`, { signal: AbortSignal.timeout(1_000) });
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(JSON.parse(text)).toEqual({ checks: [{ name: "database", ok: false, error: expect.any(String) }] });
        expect(text).not.toMatch(/127\.0\.0\.1|postgres|pim|ECONN|5432|\d{4,5}/);
      }
    } finally {
      await server.start();
    }
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${bot.port}/readyz`)).status === 200,
      60_000,
      "ready again once the server is back",
      200,
    );
    expect(bot.alive(), bot.output()).toBe(true);
  }, 120_000);
});
