import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { expireDueActivations } from "../../src/app/activation/expire.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";

describeEachDatabase("activation lifecycle", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
  });
  afterEach(() => e.dispose());

  async function held(login: string) {
    return e.handle.db.select().from(logHoldings).where(eq(logHoldings.login, login));
  }

  it("request → approve → grant → deactivate → revoke, each step audited", async () => {
    const alice = await e.user("alice");
    const bob = await e.user("bob");
    const dbAdmin = await e.role("db-admin");
    const requested = await requestActivation(e.deps, {
      requesterId: alice,
      roles: [{ roleId: dbAdmin }],
      durationMs: 2 * HOUR,
      justification: "Restore the orders table",
      ticket: "INC-123456",
      origin: "api",
    });
    if (!requested.ok) throw new Error(requested.error.message);
    const [a] = requested.value.activations;
    expect(a!.status).toBe("pending_approval");
    expect(a!.scope).toBe("/mg/prod");

    const approved = await decide(e.deps, {
      requestId: requested.value.requestId,
      approverId: bob,
      decision: "approve",
    });
    expect(approved.ok).toBe(true);
    expect((await getActivation(e.deps.db, a!.id))!.status).toBe("activating");
    expect(await held("alice")).toHaveLength(0);

    await e.worker.drain();
    const active = await getActivation(e.deps.db, a!.id);
    expect(active!.status).toBe("active");
    expect(await held("alice")).toHaveLength(1);
    if (active!.status === "active") expect(active!.endsAt.getTime() - active!.activatedAt.getTime()).toBe(2 * HOUR);

    e.clock.advance(30 * 60_000);
    const ended = await deactivate(e.deps, a!.id, alice);
    expect(ended.ok && ended.value.status).toBe("ending");
    await e.worker.drain();
    expect((await getActivation(e.deps.db, a!.id))!.status).toBe("ended");
    expect(await held("alice")).toHaveLength(0);

    const events = (await queryAudit(e.deps.db, { requestId: requested.value.requestId })).map((r) => r.event);
    expect(events).toEqual([
      "activation.requested",
      "activation.pending_approval",
      "approval.approve",
      "activation.activating",
      "activation.active",
      "activation.ending",
      "activation.ended",
    ]);
  });

  it("expires on time and revokes", async () => {
    const alice = await e.user("alice");
    const reader = await e.role("reader");
    const r = await requestActivation(e.deps, {
      requesterId: alice,
      roles: [{ roleId: reader }],
      durationMs: HOUR,
      justification: "read logs",
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.activations[0]!.status).toBe("activating");
    await e.worker.drain();
    expect(await held("alice")).toHaveLength(1);
    e.clock.advance(HOUR - 1);
    expect(await expireDueActivations(e.deps)).toBe(0);
    e.clock.advance(1);
    expect(await expireDueActivations(e.deps)).toBe(1);
    await e.worker.drain();
    const after = await getActivation(e.deps.db, r.value.activations[0]!.id);
    expect(after!.status === "ended" && after!.reason).toBe("expired");
    expect(await held("alice")).toHaveLength(0);
  });
});
