import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { backoffMs } from "../../src/jobs/outbox-worker.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { webhookPolicy } from "../support/policies.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const SECRET = "whsec-outbox-retries";

describe("backoff", () => {
  it("backs off exponentially with jitter, capped", () => {
    const opts = { backoffBaseMs: 1_000, backoffMaxMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, { ...opts, random: () => 0 }))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, { ...opts, random: () => 1 }))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(30, { ...opts, random: () => 1 })).toBe(60_000);
  });
});

describeEachDatabase("outbox retries", (driver) => {
  let receiver: WebhookReceiver;
  let e: Harness;

  async function setUp(worker: { maxGrantAttempts?: number; revokeAlertAfter?: number } = {}) {
    receiver = await new WebhookReceiver(SECRET).start();
    e = await createHarness(driver, parseConfig(webhookPolicy(receiver.url)), {
      env: { PIM_TEST_WEBHOOK_SECRET: SECRET },
      worker,
    });
  }
  afterEach(async () => {
    await e?.dispose();
    await receiver?.stop();
  });

  async function activate(user = "alice") {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.activations[0]!;
  }

  /** Runs the job once more when it is due again, as the scheduler's timer would. */
  async function retryWhenDue(jobKind: "grant" | "revoke") {
    const [job] = await e.deps.db.select().from(outboxJobs).where(eq(outboxJobs.kind, jobKind));
    if (job!.runAt > e.clock.now()) e.clock.set(job!.runAt);
    return e.worker.drain();
  }

  it("gives a grant up after the last attempt: the activation fails, an alert is raised, every attempt is audited", async () => {
    await setUp({ maxGrantAttempts: 3 });
    receiver.answer((d) => (d.event.type === "grant" ? { status: 502 } : { status: 200 }));
    const a = await activate();
    await e.worker.drain();
    await retryWhenDue("grant");
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("activating");
    await retryWhenDue("grant");
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("failed");

    const attempts = await queryAudit(e.deps.db, { event: "connector.grant.failed" });
    expect(attempts.map((r) => [r.data.attempt, r.data.final])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(receiver.of("grant")).toHaveLength(3);
    const alerts = e.events.filter((x) => x.type === "alert" && x.kind === "grant_failed");
    expect(alerts).toHaveLength(1);
    // The grant may have landed despite the errors, so a revoke follows.
    await e.worker.drain();
    expect(receiver.of("revoke")).toHaveLength(1);
  });

  it("never gives a revoke up; it alerts once when it keeps failing, and ends when the target recovers", async () => {
    await setUp({ revokeAlertAfter: 3 });
    let targetUp = false;
    receiver.answer((d) => (d.event.type === "grant" || targetUp ? { status: 200 } : { status: 503 }));
    const a = await activate();
    await e.worker.drain();
    await deactivate(e.deps, a.id, await e.user("alice"));
    for (let i = 0; i < 7; i++) await retryWhenDue("revoke");
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("ending");
    const alerts = e.events.filter((x) => x.type === "alert" && x.kind === "revoke_failing");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ subject: "alice", detail: { attempts: 3, role: "app-admin" } });

    targetUp = true;
    await retryWhenDue("revoke");
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("ended");
    const failed = await queryAudit(e.deps.db, { event: "connector.revoke.failed" });
    expect(failed.map((r) => r.data.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(failed.every((r) => r.data.final === false)).toBe(true);
    const [done] = await queryAudit(e.deps.db, { event: "connector.revoke.succeeded" });
    expect(done!.data.attempt).toBe(8);
  });

  it("a revoke decided while the grant is backing off runs first, and the late grant is skipped", async () => {
    await setUp();
    receiver.answer((d, n) => (d.event.type === "grant" && n === 0 ? { status: 503 } : { status: 200 }));
    const a = await activate();
    await e.worker.drain(); // the grant fails once and waits for its retry
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("activating");
    const ended = await deactivate(e.deps, a.id, await e.user("alice"));
    expect(ended.ok).toBe(true);
    await e.worker.drain();
    e.clock.advance(60_000);
    await e.worker.drain();

    expect(receiver.deliveries.map((d) => d.event.type)).toEqual(["grant", "revoke"]);
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("ended");
    const [skipped] = await queryAudit(e.deps.db, { event: "connector.grant.skipped" });
    expect(skipped!.data.detail).toBe("the activation is ended; nothing to grant");
    const jobs = await e.deps.db.select().from(outboxJobs);
    expect(jobs.every((j) => j.status === "done")).toBe(true);
  });
});
