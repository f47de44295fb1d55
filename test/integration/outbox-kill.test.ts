import { eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeOnPostgres } from "../support/databases.js";
import { createHarness, eventually, type Harness, LiveClock, parseConfig } from "../support/harness.js";
import { webhookPolicy } from "../support/policies.js";
import { spawnWorker, type WorkerProcess } from "../support/spawn-worker.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const SECRET = "whsec-kill-test";

describeOnPostgres("a worker process killed mid-job", () => {
  let receiver: WebhookReceiver;
  let e: Harness;
  const processes: WorkerProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await e?.dispose();
    await receiver?.stop();
  });

  function worker(id: string, leaseMs: number) {
    const p = spawnWorker({
      DATABASE_URL: e.handle.url!,
      WORKER_ID: id,
      LEASE_MS: String(leaseMs),
      WORKER_MODE: "worker",
      PIM_TEST_WEBHOOK_SECRET: SECRET,
    });
    processes.push(p);
    return p;
  }

  it("leaves its job to the next process, which finishes it after the lease", async () => {
    receiver = await new WebhookReceiver(SECRET).start();
    // The first delivery never gets an answer: the process is killed while it waits.
    receiver.answer((_d, n) => (n === 0 ? "hang" : { status: 200 }));
    e = await createHarness("postgres", parseConfig(webhookPolicy(receiver.url, { timeout: "30s" })), {
      env: { PIM_TEST_WEBHOOK_SECRET: SECRET },
      clock: new LiveClock(),
    });
    const r = await requestActivation(e.deps, {
      requesterId: await e.user("alice"),
      roles: [{ roleId: await e.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const activationId = r.value.activations[0]!.id;

    const first = worker("first", 2_000);
    await first.ready;
    await eventually(async () => receiver.deliveries.length === 1, 10_000, "the first process to call the target");
    const [claimed] = await e.deps.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, activationId));
    expect(claimed).toMatchObject({ status: "pending", lockedBy: "first", attempts: 1 });
    await first.kill();
    expect(first.child.signalCode).toBe("SIGKILL");

    const killedAt = Date.now();
    const second = worker("second", 2_000);
    await second.ready;
    const active = await eventually(
      async () => {
        const a = await getActivation(e.deps.db, activationId);
        return a!.status === "active" ? a : undefined;
      },
      15_000,
      "the second process to finish the grant",
    );
    expect(active.status).toBe("active");
    // Not before the dead process's lease ran out: nobody took a job that was still claimed.
    const [done] = await e.deps.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, activationId));
    expect(done).toMatchObject({ status: "done", lockedBy: null, attempts: 2 });
    expect(done!.finishedAt!.getTime()).toBeGreaterThanOrEqual(claimed!.lockedUntil!.getTime());
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    expect(receiver.deliveries).toHaveLength(2);
    expect(new Set(receiver.deliveries.map((d) => d.event.idempotencyKey)).size).toBe(1);
    const attempts = await queryAudit(e.deps.db, {
      event: ["connector.grant.succeeded", "connector.grant.failed"],
    });
    expect(attempts.map((a) => [a.event, a.data.worker, a.data.attempt])).toEqual([
      ["connector.grant.succeeded", "second", 2],
    ]);
  });
});
