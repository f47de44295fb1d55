import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { listRequest } from "../../src/db/repos/activations.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";

// Only a real server has several connections, so only there can two decisions truly race.
describeOnPostgres("two approvers deciding the same request at the same moment [postgres]", () => {
  let e: EngineHarness;
  beforeAll(async () => {
    e = await createEngine("postgres");
  });
  afterAll(() => e.dispose());

  async function newRequest(requester: string) {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(requester),
      roles: [{ roleId: await e.role("db-admin") }],
      durationMs: HOUR,
      justification: "race",
      ticket: "INC-000001",
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.requestId;
  }

  async function grantJobs(requestId: string) {
    const [row] = await listRequest(e.deps.db, requestId);
    return e.deps.db.select().from(outboxJobs).where(eq(outboxJobs.activationId, row!.id));
  }

  it("approve + approve: one transition, one grant job, the other told it was already decided", async () => {
    for (let round = 0; round < 15; round++) {
      const requestId = await newRequest("alice");
      const results = await Promise.all(
        ["bob", "carol"].map(async (who) =>
          decide(e.deps, { requestId, approverId: await e.user(who), decision: "approve" }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const loser = results.find((r) => !r.ok);
      expect(loser && !loser.ok && loser.error.code).toBe("ALREADY_DECIDED");
      expect(await grantJobs(requestId)).toHaveLength(1);
      const [row] = await listRequest(e.deps.db, requestId);
      await e.deps.db.delete(outboxJobs).where(eq(outboxJobs.activationId, row!.id));
      await cancelActive(requestId);
    }
  });

  it("approve + deny: exactly one outcome, and a grant job only when approval won", async () => {
    for (let round = 0; round < 15; round++) {
      const requestId = await newRequest("frank");
      const results = await Promise.all([
        decide(e.deps, { requestId, approverId: await e.user("bob"), decision: "approve" }),
        decide(e.deps, { requestId, approverId: await e.user("dave"), decision: "deny" }),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const [row] = await listRequest(e.deps.db, requestId);
      const jobs = await grantJobs(requestId);
      if (row!.status === "activating") expect(jobs).toHaveLength(1);
      else expect([row!.status, jobs.length]).toEqual(["denied", 0]);
      await cancelActive(requestId);
    }
  });

  /** Makes room for the next round: the same user cannot have two open requests for one role. */
  async function cancelActive(requestId: string) {
    const { activations } = await import("../../src/db/schema/activations.js");
    await e.deps.db
      .update(activations)
      .set({ status: "canceled", closedAt: new Date(), reason: "test round over" })
      .where(eq(activations.requestId, requestId));
  }
});
