import { afterEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { recordTransitions } from "../../src/app/activation/transitions.js";
import { inTransaction } from "../../src/app/kernel/unit-of-work.js";
import { AuditLanes } from "../../src/db/audit-append.js";
import { queryAudit, verifyAuditChain } from "../../src/db/audit-log.js";
import type { Executor } from "../../src/db/client.js";
import { getActivation, lockActivations } from "../../src/db/repos/activations.js";
import { beginEnd } from "../../src/domain/activation.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";

/** The one transition path and the unit of work around it. */
describeEachDatabase("the unit of work", (driver) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  /** `count` people, each holding app-admin now (requested and approved, the grant not yet run). */
  async function activations(count: number): Promise<string[]> {
    const { yaml, users } = crowdPolicy(count + 1, "{ type: log }", { approval: true });
    h = await createHarness(driver, parseConfig(yaml));
    const ids: string[] = [];
    for (const user of users.slice(0, count)) {
      const r = await requestActivation(h.deps, {
        requesterId: await h.user(user),
        roles: [{ roleId: await h.role("app-admin") }],
        durationMs: HOUR,
        origin: "api",
      });
      if (!r.ok) throw new Error(r.error.message);
      const decided = await decide(h.deps, {
        requestId: r.value.requestId,
        approverId: await h.user("boss"),
        decision: "approve",
      });
      if (!decided.ok) throw new Error(decided.error.message);
      ids.push(r.value.activations[0]!.id);
    }
    return ids;
  }

  it("fails the whole unit, and commits none of it, when a transition was decided on a version that moved", async () => {
    const [id] = await activations(1);
    const stale = (await getActivation(h!.deps.db, id!))!;
    // Another unit moves it on first: its version is no longer the one decided on below.
    await inTransaction(h!.deps, async (work) => {
      const [fresh] = await lockActivations(work.tx, [id!]);
      const ending = beginEnd(fresh!, "revoked", "system", work.now);
      if (!ending.ok) throw new Error(ending.error.message);
      await recordTransitions(work, [{ before: fresh!, after: ending.value, names: names() }]);
    });

    const lost = inTransaction(h!.deps, async (work) => {
      work.audit({ event: "test.before", actor: "system" });
      const ending = beginEnd(stale, "deactivated", "system", work.now);
      if (!ending.ok) throw new Error(ending.error.message);
      await recordTransitions(work, [{ before: stale, after: ending.value, names: names() }]);
      work.audit({ event: "test.after", actor: "system" });
    });

    await expect(lost).rejects.toMatchObject({ code: "CONCURRENT_CHANGE" });
    const after = (await getActivation(h!.deps.db, id!))!;
    expect(after).toMatchObject({ status: "ending", reason: "revoked", version: stale.version + 1 });
    expect(await queryAudit(h!.deps.db, { event: ["test.before", "test.after", "activation.ending"] })).toHaveLength(1);
    expect(await verifyAuditChain(h!.handle)).toMatchObject({ ok: true });
  });

  it("saves several transitions with their audit events in one unit, on one lane of the chain", async () => {
    const ids = await activations(3);
    const count = await inTransaction(h!.deps, async (work) => {
      const rows = await lockActivations(work.tx, ids);
      const moves = rows.map((before) => {
        const after = beginEnd(before, "revoked", "system", work.now);
        if (!after.ok) throw new Error(after.error.message);
        return { before, after: after.value, names: names() };
      });
      return (await recordTransitions(work, moves)).length;
    });
    expect(count).toBe(3);
    for (const id of ids) expect((await getActivation(h!.deps.db, id))?.status).toBe("ending");
    const audited = await queryAudit(h!.deps.db, { event: "activation.ending" });
    expect(audited.map((a) => a.activationId).sort()).toEqual([...ids].sort());
    expect(new Set(audited.map((a) => a.lane)).size).toBe(1);
    expect(await verifyAuditChain(h!.handle)).toMatchObject({ ok: true });
  });
});

const names = () => ({ actor: "system", subject: { key: "someone" }, role: { key: "app-admin" } });

/** A database that says it has `lanes` lanes, and counts how often it was asked. */
function laneCount(lanes: number): Executor & { asked: number } {
  const db = {
    asked: 0,
    execute: async () => {
      db.asked++;
      return [{ n: lanes }];
    },
  };
  return db as unknown as Executor & { asked: number };
}

it("gives a process's transactions lanes none of the others holds, and asks the database how many there are once", async () => {
  const db = laneCount(4);
  const lanes = new AuditLanes();
  const taken = [await lanes.take(db), await lanes.take(db), await lanes.take(db), await lanes.take(db)];
  expect([...taken].sort()).toEqual([0, 1, 2, 3]);
  // The only lane none holds is the one given back.
  lanes.release(taken[2]!);
  expect(await lanes.take(db)).toBe(taken[2]);
  // Every lane is held: a fifth shares one, which is free again only once both have given it back.
  const shared = await lanes.take(db);
  lanes.release(shared);
  lanes.release(shared);
  expect(await lanes.take(db)).toBe(shared);
  expect(db.asked).toBe(1);
});
