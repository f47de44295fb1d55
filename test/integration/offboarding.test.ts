import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { satisfyMfa } from "../../src/app/activation/satisfy-mfa.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { revokeActivationAsAdmin } from "../../src/app/admin/revoke-activation.js";
import type { PimConfig } from "../../src/config/pim-file.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { assignments } from "../../src/db/schema/assignments.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

/** Removing a person or an eligibility ends what it backed, and nothing waiting can still be granted. */
describeEachDatabase("offboarding ends access", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
  });
  afterEach(() => e.dispose());

  async function activate(user: string, role: string, approver?: string) {
    const requested = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role(role) }],
      durationMs: HOUR,
      justification: "Needed",
      ticket: "INC-123456",
      origin: "api",
    });
    if (!requested.ok) throw new Error(requested.error.message);
    if (approver) {
      const approved = await decide(e.deps, {
        requestId: requested.value.requestId,
        approverId: await e.user(approver),
        decision: "approve",
      });
      if (!approved.ok) throw new Error(approved.error.message);
    }
    await e.worker.drain();
    return requested.value.activations[0]!;
  }

  async function ask(user: string, role: string) {
    const requested = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role(role) }],
      durationMs: HOUR,
      justification: "Needed",
      ticket: "INC-123456",
      origin: "api",
    });
    if (!requested.ok) throw new Error(requested.error.message);
    return requested.value;
  }

  const eventsOf = async (event: string, activationId: string) =>
    (await queryAudit(e.deps.db, { event })).filter((r) => r.activationId === activationId);
  const held = async (login: string) =>
    (await e.handle.db.select().from(logHoldings).where(eq(logHoldings.login, login))).length;
  const status = async (id: string) => (await getActivation(e.deps.db, id))!.status;

  /** The fixture without one user: gone from users, groups and assignments. */
  function without(user: string): PimConfig {
    const config = loadFixture("engine.yaml");
    return {
      ...config,
      users: config.users.filter((u) => u.key !== user),
      groups: config.groups.map((g) => ({ ...g, members: g.members.filter((m) => m !== user) })),
      assignments: config.assignments.filter((a) => a.principal !== user),
      breakGlass: config.breakGlass.filter((k) => k !== user),
    };
  }

  it("apply revokes a removed user's activations and cancels their pending requests, audited", async () => {
    const reader = await activate("alice", "reader");
    expect(await held("alice")).toBe(1);
    const pending = await ask("alice", "db-admin");
    expect(pending.activations[0]!.status).toBe("pending_approval");

    await applyConfig(e.deps, without("alice"));
    expect(await status(reader.id)).toBe("ending");
    expect(await status(pending.activations[0]!.id)).toBe("canceled");
    const ending = await eventsOf("activation.ending", reader.id);
    expect(ending.map((r) => [r.actor, r.data.reason, r.data.cause])).toEqual([
      ["system", "revoked", "PRINCIPAL_RETIRED"],
    ]);
    const canceled = await queryAudit(e.deps.db, { event: "activation.canceled", requestId: pending.requestId });
    expect(canceled.map((r) => r.data.cause)).toEqual(["PRINCIPAL_RETIRED"]);

    await e.worker.drain();
    expect(await status(reader.id)).toBe("ended");
    expect(await held("alice")).toBe(0);
    // The approval that used to grant the role after the user was removed changes nothing now.
    const late = await decide(e.deps, {
      requestId: pending.requestId,
      approverId: await e.user("bob"),
      decision: "approve",
    });
    expect(late.ok).toBe(false);
    await e.worker.drain();
    expect(await held("alice")).toBe(0);
  });

  it("apply ends an activation whose eligibility came through a group the person left, and only that", async () => {
    const franks = await activate("frank", "db-admin", "bob");
    const alices = await activate("alice", "db-admin", "bob");
    expect(await status(franks.id)).toBe("active");
    const config = loadFixture("engine.yaml");
    await applyConfig(e.deps, {
      ...config,
      groups: config.groups.map((g) => (g.key === "dbas" ? { ...g, members: ["alice"] } : g)),
    });
    expect(await status(franks.id)).toBe("ending");
    expect(await status(alices.id)).toBe("active");
    const ending = await eventsOf("activation.ending", franks.id);
    expect(ending.map((r) => r.data.cause)).toEqual(["NOT_ELIGIBLE"]);
    // Applying the same file again changes nothing.
    expect(
      (
        await applyConfig(e.deps, {
          ...config,
          groups: config.groups.map((g) => (g.key === "dbas" ? { ...g, members: ["alice"] } : g)),
        })
      ).changes,
    ).toBe(0);
  });

  it("an approval re-checks that the requester is still eligible, and cancels the request when not", async () => {
    const pending = await ask("alice", "db-admin");
    // The eligibility disappears behind apply's back (e.g. another replica's change).
    await e.handle.db.delete(assignments).where(eq(assignments.roleId, await e.role("db-admin")));
    const refused = await decide(e.deps, {
      requestId: pending.requestId,
      approverId: await e.user("bob"),
      decision: "approve",
    });
    expect(refused.ok === false && refused.error.code).toBe("REQUESTER_NOT_ELIGIBLE");
    expect(await status(pending.activations[0]!.id)).toBe("canceled");
    const audit = await queryAudit(e.deps.db, { event: "approval.refused", requestId: pending.requestId });
    expect(audit.map((r) => r.data.code)).toEqual(["REQUESTER_NOT_ELIGIBLE"]);
    await e.worker.drain();
    expect(await held("alice")).toBe(0);
  });

  it("the MFA step re-checks that the requester is still eligible", async () => {
    const pending = await ask("alice", "global-admin");
    const act = pending.activations[0]!;
    expect(act.status).toBe("pending_mfa");
    await e.handle.db
      .delete(assignments)
      .where(
        and(eq(assignments.roleId, await e.role("global-admin")), eq(assignments.principalId, await e.user("alice"))),
      );
    const refused = await satisfyMfa(e.deps, act.id, await e.user("alice"), { method: "passkey" });
    expect(refused.ok === false && refused.error.code).toBe("REQUESTER_NOT_ELIGIBLE");
    expect(await status(act.id)).toBe("canceled");
    expect((await eventsOf("mfa.refused", act.id)).map((r) => r.data.code)).toEqual(["REQUESTER_NOT_ELIGIBLE"]);
  });

  it("the grant job re-checks eligibility right before granting: no grant, the activation revoked, audited", async () => {
    const requested = await ask("alice", "reader");
    const act = requested.activations[0]!;
    expect(act.status).toBe("activating");
    // The eligibility disappears behind apply's back after the grant job was written.
    await e.handle.db
      .delete(assignments)
      .where(and(eq(assignments.roleId, await e.role("reader")), eq(assignments.principalId, await e.user("alice"))));
    await e.worker.drain();
    expect(await held("alice")).toBe(0);
    expect(await eventsOf("connector.grant.succeeded", act.id)).toEqual([]);
    const skipped = await eventsOf("connector.grant.skipped", act.id);
    expect(skipped.map((r) => r.data.detail)).toEqual(["the requester is no longer eligible; nothing to grant"]);
    const ending = await eventsOf("activation.ending", act.id);
    expect(ending.map((r) => [r.actor, r.data.reason, r.data.cause])).toEqual([["system", "revoked", "NOT_ELIGIBLE"]]);
    expect(await status(act.id)).toBe("ended");
  });

  it("the grant job does not grant to a principal retired behind apply's back", async () => {
    const requested = await ask("alice", "reader");
    const { principals } = await import("../../src/db/schema/principals.js");
    await e.handle.db
      .update(principals)
      .set({ retiredAt: e.clock.now() })
      .where(eq(principals.id, await e.user("alice")));
    await e.worker.drain();
    expect(await held("alice")).toBe(0);
    const ending = await eventsOf("activation.ending", requested.activations[0]!.id);
    expect(ending.map((r) => r.data.cause)).toEqual(["PRINCIPAL_RETIRED"]);
  });

  it("an administrator revokes a person's role with a reason; the holder is told; anyone else is refused, audited", async () => {
    const reader = await activate("alice", "reader");
    const frank = { kind: "person" as const, id: await e.user("frank") };
    const erin = { kind: "person" as const, id: await e.user("erin") };
    const refused = await revokeActivationAsAdmin(e.deps, frank, { activationId: reader.id }, "Not needed");
    expect(refused.ok === false && refused.error.code).toBe("NOT_ADMINISTRATOR");
    expect((await queryAudit(e.deps.db, { event: "admin.refused" })).map((r) => [r.actor, r.data.code])).toEqual([
      ["frank", "NOT_ADMINISTRATOR"],
    ]);
    expect(e.events).toContainEqual(expect.objectContaining({ type: "alert", kind: "unauthorized_approval" }));
    const target = { holderId: await e.user("alice"), roleId: await e.role("reader") };
    const noReason = await revokeActivationAsAdmin(e.deps, erin, target, "  ");
    expect(noReason.ok === false && noReason.error.code).toBe("REASON_REQUIRED");

    const revoked = await revokeActivationAsAdmin(e.deps, erin, target, "Incident 42: access frozen");
    expect(revoked.ok && revoked.value.map((a) => a.id)).toEqual([reader.id]);
    const ending = await eventsOf("activation.ending", reader.id);
    expect(ending.map((r) => [r.actor, r.data.reason, r.data.revokedBy])).toEqual([
      ["erin", "Incident 42: access frozen", "erin"],
    ]);
    expect(e.events).toContainEqual(
      expect.objectContaining({
        type: "activation.revoked",
        activationId: reader.id,
        holderId: await e.user("alice"),
        reason: "Incident 42: access frozen",
      }),
    );
    await e.worker.drain();
    expect(await held("alice")).toBe(0);
  });

  it("apply keeps a platform id linked through e-mail, until the file declares that id for someone", async () => {
    const config = loadFixture("engine.yaml");
    const frank = await e.user("frank");
    const { principals } = await import("../../src/db/schema/principals.js");
    await e.handle.db
      .update(principals)
      .set({ teamsId: "66666666-6666-4666-8666-666666666666", teamsLinkedAt: e.clock.now() })
      .where(eq(principals.id, frank));
    expect((await applyConfig(e.deps, config)).changes).toBe(0);
    const linked = await e.handle.db.select().from(principals).where(eq(principals.id, frank));
    expect(linked[0]!.teamsId).toBe("66666666-6666-4666-8666-666666666666");

    await applyConfig(e.deps, {
      ...config,
      users: config.users.map((u) =>
        u.key === "glass" ? { ...u, teamsId: "66666666-6666-4666-8666-666666666666" } : u,
      ),
    });
    const after = await e.handle.db.select().from(principals).where(eq(principals.id, frank));
    expect(after[0]!.teamsId).toBeNull();
    expect((await queryAudit(e.deps.db, { event: "principal.link_removed" })).map((r) => r.subject)).toEqual(["frank"]);
  });
});
