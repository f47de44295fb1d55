import { eq, sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit, verifyAuditChain } from "../../src/db/audit-log.js";
import { activations } from "../../src/db/schema/activations.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { ManualClock } from "../support/clock.js";
import { describeOnPostgres } from "../support/databases.js";
import { createHarness, eventually, type Harness, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";
import { spawnWorker, type WorkerProcess } from "../support/spawn-worker.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const SECRET = "whsec-replicas";
const COUNT = 500;

describeOnPostgres("two replicas on one database", () => {
  let receiver: WebhookReceiver;
  let e: Harness;
  const processes: WorkerProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await e?.dispose();
    await receiver?.stop();
  });

  it("500 activations ending in the same second: each revoke runs exactly once", { timeout: 120_000 }, async () => {
    receiver = await new WebhookReceiver(SECRET).start();
    const { yaml, users } = crowdPolicy(
      COUNT,
      `{ type: webhook, url: "${receiver.url}", secretEnv: PIM_TEST_WEBHOOK_SECRET }`,
    );
    const clock = new ManualClock(new Date(Date.now() - HOUR));
    e = await createHarness("postgres", parseConfig(yaml), { env: { PIM_TEST_WEBHOOK_SECRET: SECRET }, clock });
    const roleId = await e.role("app-admin");
    for (const user of users) {
      const r = await requestActivation(e.deps, {
        requesterId: await e.user(user),
        roles: [{ roleId }],
        durationMs: HOUR,
        origin: "api",
      });
      if (!r.ok) throw new Error(r.error.message);
    }
    // Every grant is confirmed at the same instant of a frozen clock, so every activation ends
    // at the same millisecond: an hour after it, which is a few seconds from now.
    const endsAt = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
    clock.set(new Date(endsAt.getTime() - HOUR));
    await e.worker.drain();
    const ends = await e.deps.db
      .select({ endsAt: activations.endsAt, n: sql<number>`count(*)::int` })
      .from(activations)
      .where(eq(activations.status, "active"))
      .groupBy(activations.endsAt);
    expect(ends).toEqual([{ endsAt, n: COUNT }]);

    for (const id of ["replica-a", "replica-b"]) {
      const p = spawnWorker({
        DATABASE_URL: e.handle.url!,
        WORKER_ID: id,
        WORKER_MODE: "scheduler",
        SWEEP_MS: "2000",
        // Small batches, so the two replicas interleave their claims instead of one taking all.
        BATCH_SIZE: "50",
        PIM_TEST_WEBHOOK_SECRET: SECRET,
      });
      processes.push(p);
    }
    await Promise.all(processes.map((p) => p.ready));
    // On a loaded machine the set-up may overrun the end: then both replicas find all 500
    // overdue at start-up, which must be just as exactly-once.
    const readyBeforeEnd = Date.now() < endsAt.getTime();

    await eventually(
      async () => {
        const [row] = await e.deps.db
          .select({ n: sql<number>`count(*)::int` })
          .from(activations)
          .where(eq(activations.status, "ended"));
        return row!.n === COUNT;
      },
      endsAt.getTime() - Date.now() + 20_000,
      `all ${COUNT} activations to end`,
      100,
    );
    for (const p of processes) await p.stop();

    const revokes = receiver.of("revoke");
    expect(revokes).toHaveLength(COUNT);
    expect(new Set(revokes.map((d) => d.event.idempotencyKey)).size).toBe(COUNT);
    expect(new Set(revokes.map((d) => d.event.activationId)).size).toBe(COUNT);
    expect(revokes.every((d) => d.verified)).toBe(true);
    expect(await queryAudit(e.deps.db, { event: "activation.ending" })).toHaveLength(COUNT);
    const succeeded = await queryAudit(e.deps.db, { event: "connector.revoke.succeeded" });
    expect(succeeded).toHaveLength(COUNT);
    const jobs = await e.deps.db.select().from(outboxJobs).where(eq(outboxJobs.kind, "revoke"));
    expect(jobs).toHaveLength(COUNT);
    expect(jobs.every((j) => j.status === "done" && j.attempts === 1)).toBe(true);
    // Two processes appending batches to the audit log at once left it verifiable.
    expect(await verifyAuditChain(e.handle)).toMatchObject({ ok: true });

    const ended = await e.deps.db.select({ closedAt: activations.closedAt }).from(activations);
    const lags = ended.map((a) => a.closedAt!.getTime() - endsAt.getTime()).sort((x, y) => x - y);
    const byWorker: Record<string, number> = {};
    for (const r of succeeded) byWorker[String(r.data.worker)] = (byWorker[String(r.data.worker)] ?? 0) + 1;
    console.log(
      `[replicas] ${COUNT} revokes: p50 ${lags[COUNT / 2]} ms, p99 ${lags[Math.floor(COUNT * 0.99)]} ms, max ${lags.at(-1)} ms;` +
        ` by worker ${JSON.stringify(byWorker)}; replicas ready before the end: ${readyBeforeEnd}`,
    );
    expect(lags[0]).toBeGreaterThanOrEqual(0);
  });
});
