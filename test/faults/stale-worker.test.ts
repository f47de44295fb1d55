import { afterEach, expect, it } from "vitest";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import type { Connector, GrantRequest, RevokeRequest } from "../../src/connectors/connector.js";
import { LogConnector } from "../../src/connectors/log.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { claimJobs } from "../../src/db/repos/outbox-claims.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { OutboxWorker } from "../../src/jobs/outbox-worker.js";
import { describeEachDatabase } from "../support/databases.js";
import { silentLogger } from "../support/engine.js";
import { createHarness, eventually, type Harness, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";

/** The log connector, with calls that can be held at the door until the test lets them through. */
class GatedConnector implements Connector {
  readonly type = "log";
  readonly calls: { kind: "grant" | "revoke"; login: string }[] = [];
  private gate: { opened: Promise<void>; open: () => void; waiting: boolean } | undefined;
  constructor(private readonly inner: LogConnector) {}

  /** The next call waits inside the connector (as if the target were slow) until `open()`. */
  holdNext(): { entered: () => boolean; open: () => void } {
    let open = () => {};
    const opened = new Promise<void>((r) => (open = r));
    const gate = { opened, open, waiting: false };
    this.gate = gate;
    return { entered: () => gate.waiting, open: () => gate.open() };
  }

  async grant(req: GrantRequest) {
    this.calls.push({ kind: "grant", login: req.login });
    await this.pass();
    return this.inner.grant(req);
  }

  async revoke(req: RevokeRequest) {
    this.calls.push({ kind: "revoke", login: req.login });
    await this.pass();
    return this.inner.revoke(req);
  }

  list() {
    return this.inner.list();
  }

  private async pass(): Promise<void> {
    const gate = this.gate;
    if (!gate) return;
    this.gate = undefined;
    gate.waiting = true;
    await gate.opened;
  }
}

describeEachDatabase("a worker that lost its claim", (driver) => {
  let e: Harness;
  let gated: GatedConnector;
  // Long leases: the heartbeat (every third of a lease, real time) never renews during a test;
  // the lease runs out when the test moves the clock past it.
  const LEASE = 30 * MINUTE;

  afterEach(async () => {
    await e?.dispose();
  });

  async function setUp() {
    e = await createHarness(driver, parseConfig(crowdPolicy(3, "{ type: log }").yaml), {
      worker: { workerId: "stale", leaseMs: LEASE },
    });
    gated = new GatedConnector(new LogConnector(e.deps.db));
    e.connectors.register("log", () => gated);
    const other = new OutboxWorker(e.deps, e.connectors, silentLogger, {
      workerId: "current",
      leaseMs: LEASE,
      random: () => 0.5,
    });
    const user = await e.user("u000000");
    const r = await requestActivation(e.deps, {
      requesterId: user,
      roles: [{ roleId: await e.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    return { other, user, activationId: r.value.activations[0]!.id };
  }

  const held = () => e.deps.db.select().from(logHoldings);

  it("gives up a call whose lease ran out before it started, and leaves the job to whoever holds it", {
    timeout: 90_000,
  }, async () => {
    const { other, activationId } = await setUp();
    // The stale worker claims the grant, then is held up (a pause, a long GC) past its lease.
    const claimed = await claimJobs(e.deps.db, { workerId: "stale", now: e.clock.now(), leaseMs: LEASE, limit: 10 });
    expect(claimed).toHaveLength(1);
    e.clock.advance(LEASE + 1_000);
    await other.drain();
    expect((await getActivation(e.deps.db, activationId))!.status).toBe("active");

    await e.worker.runClaimed(claimed);
    expect(gated.calls).toEqual([{ kind: "grant", login: "u000000" }]);
    const attempts = await queryAudit(e.deps.db, { event: ["connector.grant.succeeded", "connector.grant.failed"] });
    expect(attempts.map((a) => a.data.worker)).toEqual(["current"]);
  });

  it("brings the target back in line at once when its call landed after the claim had passed on", {
    timeout: 90_000,
  }, async () => {
    const { other, user, activationId } = await setUp();
    const door = gated.holdNext();
    // The stale worker calls the target, which does not answer for a long while.
    const stale = e.worker.runOnce();
    await eventually(async () => door.entered(), 10_000, "the stale worker's grant call to start");

    // Its lease runs out; the current worker takes the job over, grants, and the user ends early.
    e.clock.advance(LEASE + 1_000);
    await other.drain();
    expect((await getActivation(e.deps.db, activationId))!.status).toBe("active");
    const ended = await deactivate(e.deps, activationId, user);
    expect(ended.ok).toBe(true);
    await other.drain();
    expect((await getActivation(e.deps.db, activationId))!.status).toBe("ended");
    expect(await held()).toHaveLength(0);

    // The stale call lands now: the role is held again, with no activation behind it ...
    door.open();
    await stale;
    await e.worker.idle();
    // ... for no longer than the compensation takes.
    expect(await held()).toHaveLength(0);
    expect(gated.calls.map((c) => c.kind)).toEqual(["grant", "grant", "revoke", "revoke"]);

    const audit = await queryAudit(e.deps.db, { event: ["connector.grant.late", "connector.revoke.succeeded"] });
    const late = audit.find((a) => a.event === "connector.grant.late");
    expect(late?.data).toMatchObject({ worker: "stale", attempt: 1 });
    const compensation = audit.filter((a) => a.event === "connector.revoke.succeeded" && a.data.compensates);
    expect(compensation).toHaveLength(1);
    expect(compensation[0]!.data).toMatchObject({ worker: "stale", compensates: late!.data.jobId });
  });

  it("leaves what the database still holds when a late call is compensated", { timeout: 90_000 }, async () => {
    const { other, activationId } = await setUp();
    const door = gated.holdNext();
    const stale = e.worker.runOnce();
    await eventually(async () => door.entered(), 10_000, "the stale worker's grant call to start");
    e.clock.advance(LEASE + 1_000);
    await other.drain();
    expect((await getActivation(e.deps.db, activationId))!.status).toBe("active");

    door.open();
    await stale;
    await e.worker.idle();
    // The activation is still active: the compensation finds it and changes nothing.
    expect(await held()).toHaveLength(1);
    const skipped = await queryAudit(e.deps.db, { event: ["connector.revoke.skipped"] });
    expect(skipped.map((a) => a.data.compensates)).toHaveLength(1);
    expect(gated.calls.map((c) => c.kind)).toEqual(["grant", "grant"]);
  });
});
