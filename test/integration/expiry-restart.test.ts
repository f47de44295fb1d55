import { eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeOnPostgres } from "../support/databases.js";
import { createHarness, eventually, type Harness, LiveClock, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";
import { spawnWorker, type WorkerProcess } from "../support/spawn-worker.js";

describeOnPostgres("a bot down across an expiry", () => {
  let e: Harness;
  const processes: WorkerProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await e?.dispose();
  });

  function bot(id: string) {
    const p = spawnWorker({ DATABASE_URL: e.handle.url!, WORKER_ID: id, WORKER_MODE: "scheduler", SWEEP_MS: "60000" });
    processes.push(p);
    return p;
  }

  it("revokes within seconds of the restart", async () => {
    const { yaml, users } = crowdPolicy(1, "{ type: log }");
    const clock = new LiveClock();
    e = await createHarness("postgres", parseConfig(yaml), { clock });
    const first = bot("bot-1");
    await first.ready;

    // Granted an hour ago, less 2 s: it ends 2 s from now, and the bot goes down at once.
    clock.offsetMs = -(HOUR - 2_000);
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(users[0]!),
      roles: [{ roleId: await e.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    await e.worker.drain();
    clock.offsetMs = 0;
    await first.kill();
    const id = r.value.activations[0]!.id;
    const active = await getActivation(e.deps.db, id);
    if (active?.status !== "active") throw new Error("expected the activation to be active");

    await eventually(async () => Date.now() > active.endsAt.getTime() + 1_000, 10_000, "the end to pass");
    expect((await getActivation(e.deps.db, id))!.status).toBe("active"); // nobody was up to end it

    const restartedAt = Date.now();
    const second = bot("bot-2");
    await second.ready;
    const ended = await eventually(
      async () => {
        const row = await getActivation(e.deps.db, id);
        return row?.status === "ended" ? row : undefined;
      },
      10_000,
      "the revoke after the restart",
    );
    if (ended.status !== "ended") throw new Error("unreachable");
    expect(ended.reason).toBe("expired");
    const afterRestart = ended.closedAt.getTime() - restartedAt;
    console.log(`[restart] revoked ${afterRestart} ms after the process was started (its start-up included)`);
    expect(afterRestart).toBeLessThan(10_000);
    expect(await e.deps.db.select().from(logHoldings).where(eq(logHoldings.login, users[0]!))).toEqual([]);
  });
});
