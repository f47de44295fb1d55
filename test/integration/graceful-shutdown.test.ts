/**
 * Stopping gracefully, as SIGTERM does (main.ts calls the composed bot's stop): the bot takes no
 * new requests, finishes a grant that is already being made on its target, and leaves no claim of
 * its own behind, so another replica never waits out a lease for work this one was doing.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { type Bot, compose } from "../../src/compose.js";
import type { GrantRequest } from "../../src/connectors/connector.js";
import { LogConnector } from "../../src/connectors/log.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { principalByKey, roleByKeyOrName } from "../../src/db/repos/directory.js";
import { outboxBacklog } from "../../src/db/repos/ops-figures.js";
import { claimJobs } from "../../src/db/repos/outbox-claims.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { ManualClock } from "../support/clock.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { clearLoggedErrors, failOnLoggedErrors, testLog } from "../support/test-log.js";

/** The embedded target, whose grants wait at a gate once it is closed. */
class GatedTarget extends LogConnector {
  closed = false;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  private enter!: () => void;
  readonly entered = new Promise<void>((resolve) => {
    this.enter = resolve;
  });

  override async grant(req: GrantRequest) {
    if (this.closed) {
      this.enter();
      await this.opened;
    }
    return super.grant(req);
  }

  release(): void {
    this.open();
  }
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeEachDatabase("graceful stop", (driver) => {
  let handle: TestDatabase;
  let bot: Bot;
  let target: GatedTarget;
  let stopped = false;

  beforeEach(async () => {
    clearLoggedErrors();
    stopped = false;
    handle = await createTestDatabase(driver);
    bot = await compose(
      {
        HOST: "127.0.0.1",
        PIM_CONFIG: new URL("../fixtures/engine.yaml", import.meta.url).pathname,
        PIM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        METRICS_AUTH: "off",
      },
      {
        clock: new ManualClock(),
        log: testLog,
        database: handle,
        port: 0,
        connectors: (db) => {
          target = new GatedTarget(db);
          return new ConnectorRegistry(db).register("log", () => target);
        },
        worker: { workerId: "stopping-worker", random: () => 0.5 },
      },
    );
    await bot.start();
    // What applying the policy queued runs first, with the gate open.
    await until("the policy's grants", async () => (await outboxBacklog(handle.db, bot.deps.clock.now())).due === 0);
  });
  afterEach(async () => {
    if (!stopped) await bot.stop();
    await handle.dispose();
    failOnLoggedErrors();
  });

  it("answers no new request, finishes the grant in flight, then stops with no claim left", async () => {
    const { port } = bot.http.server.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    target.closed = true;
    const alice = (await principalByKey(handle.db, "alice"))!;
    const reader = (await roleByKeyOrName(handle.db, "reader"))!;
    const asked = await requestActivation(bot.deps, {
      requesterId: alice.id,
      roles: [{ roleId: reader.id }],
      durationMs: HOUR,
      justification: "reading the logs",
      origin: "cli",
    });
    if (!asked.ok) throw new Error(asked.error.message);
    await target.entered; // the grant is on its way to the target

    const stopping = bot.stop().then(() => {
      stopped = true;
    });
    // New requests are refused at once: the listener is closed.
    const answer = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => "refused",
    );
    expect(answer).not.toBe(200);
    // The stop waits for the call on the target...
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);

    target.release();
    await stopping;
    // ...which was recorded: the grant is done, audited, and held; nothing is left claimed.
    const [job] = await handle.db
      .select()
      .from(outboxJobs)
      .where(and(eq(outboxJobs.kind, "grant"), eq(outboxJobs.activationId, asked.value.activations[0]!.id)));
    expect(job).toMatchObject({ status: "done" });
    const held = await handle.db.select().from(logHoldings).where(eq(logHoldings.login, "alice"));
    expect(held).toHaveLength(1);
    expect(await queryAudit(handle.db, { event: "connector.grant.succeeded" })).not.toHaveLength(0);
    const claimed = await handle.db.select().from(outboxJobs).where(eq(outboxJobs.lockedBy, "stopping-worker"));
    expect(claimed.filter((j) => j.status === "pending")).toEqual([]);
  });

  it("gives back a claim it holds but has not started, so another replica takes it at once", async () => {
    const alice = (await principalByKey(handle.db, "alice"))!;
    const reader = (await roleByKeyOrName(handle.db, "reader"))!;
    // Written while no worker claims for this process, as a grant another path left unclaimed.
    await bot.scheduler.stop();
    await requestActivation(bot.deps, {
      requesterId: alice.id,
      roles: [{ roleId: reader.id }],
      durationMs: HOUR,
      justification: "reading the logs",
      origin: "cli",
    });
    const taken = await claimJobs(handle.db, {
      workerId: "stopping-worker",
      now: bot.deps.clock.now(),
      leaseMs: 30_000,
      limit: 10,
    });
    expect(taken).toHaveLength(1);
    expect(await bot.worker.releaseAll()).toBe(1);
    const [job] = await handle.db.select().from(outboxJobs).where(eq(outboxJobs.id, taken[0]!.id));
    expect(job).toMatchObject({ status: "pending", lockedBy: null, lockedUntil: null });
  });
});
