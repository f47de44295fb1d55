import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { renewRequest, requestExtension } from "../../src/app/activation/extend.js";
import { type RequestActivationInput, requestActivation } from "../../src/app/activation/request.js";
import { satisfyMfa } from "../../src/app/activation/satisfy-mfa.js";
import { timeOutDueRequests } from "../../src/app/activation/time-out.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { revokeActivationAsAdmin } from "../../src/app/admin/revoke-activation.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation, listForPrincipal, listRequest } from "../../src/db/repos/activations.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

describeEachDatabase("activation engine rules", (driver) => {
  let e: EngineHarness;
  beforeEach(async () => {
    e = await createEngine(driver);
  });
  afterEach(() => e.dispose());

  async function ask(user: string, roles: string[], extra: Partial<RequestActivationInput> = {}) {
    return requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: await Promise.all(roles.map(async (r) => ({ roleId: await e.role(r) }))),
      durationMs: HOUR,
      justification: "Investigating INC-123456",
      ticket: "INC-123456",
      origin: "api",
      ...extra,
    });
  }
  async function asked(user: string, roles: string[], extra: Partial<RequestActivationInput> = {}) {
    const r = await ask(user, roles, extra);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  }
  async function refusalOf(p: Promise<{ ok: boolean; error?: { code: string; message: string } }>) {
    const r = await p;
    expect(r.ok).toBe(false);
    return r.error!;
  }
  const statusOf = async (id: string) => (await getActivation(e.deps.db, id))!.status;

  it.each([
    ["bob", ["reader"], {}, "NOT_ELIGIBLE", /not eligible for Reader/],
    ["dave", ["billing"], {}, "ELIGIBILITY_EXPIRED", /ended at 2026-11-01/],
    ["frank", ["billing"], {}, "ELIGIBILITY_NOT_STARTED", /starts at 2026-12-01/],
    ["alice", ["db-admin"], { durationMs: 5 * HOUR }, "DURATION_OVER_MAX", /at most 4h/],
    ["alice", ["reader"], { justification: "" }, "JUSTIFICATION_REQUIRED", /requires a justification/],
    ["alice", ["db-admin"], { ticket: null }, "TICKET_REQUIRED", /requires a ticket/],
    ["alice", ["db-admin"], { ticket: "CHG-1" }, "TICKET_INVALID", /Ticket must look like INC-123456/],
    ["alice", ["billing"], { durationMs: 20 * HOUR }, "DURATION_OVER_MAX", /at most 8h/],
    ["carol", ["reader"], {}, "ALREADY_ACTIVE", /active assignment/],
  ] as const)("%s asking for %j %j is refused with %s", async (user, roles, extra, code, message) => {
    const refusal = await refusalOf(ask(user, [...roles], extra));
    expect(refusal.code).toBe(code);
    expect(refusal.message).toMatch(message);
    const audit = await queryAudit(e.deps.db, { event: "activation.refused" });
    expect(audit.at(-1)?.data).toMatchObject({ code });
  });

  it("eligibility through a group and the duration bound by the eligibility's end", async () => {
    const frank = await asked("frank", ["db-admin"]);
    expect(frank.activations[0]).toMatchObject({ status: "pending_approval", scope: "/mg/prod" });
    // alice's billing eligibility ends 2026-11-03T00:00Z, 15h after the clock's 09:00.
    e.clock.advance(12 * HOUR);
    const late = await refusalOf(ask("alice", ["billing"], { durationMs: 4 * HOUR }));
    expect(late.code).toBe("DURATION_PAST_ELIGIBILITY");
    expect(late.message).toMatch(/ask for at most 3h/);
  });

  it("several roles at once: one request id, one row per role, each with its own policy; all-or-nothing", async () => {
    const r = await asked("alice", ["reader", "db-admin"]);
    expect(new Set(r.activations.map((a) => a.requestId))).toEqual(new Set([r.requestId]));
    expect(r.activations.map((a) => a.status).sort()).toEqual(["activating", "pending_approval"]);
    const refused = await refusalOf(ask("alice", ["billing", "global-admin"], { durationMs: 3 * HOUR }));
    expect(refused).toMatchObject({ code: "DURATION_OVER_MAX", roleId: await e.role("global-admin") });
    const alicesRows = await listForPrincipal(e.deps.db, await e.user("alice"), [
      "requested",
      "pending_mfa",
      "pending_approval",
      "activating",
      "active",
    ]);
    expect(alicesRows.map((a) => a.requestId)).toEqual([r.requestId, r.requestId]);
  });

  it("refuses a second request for a role already pending", async () => {
    await asked("alice", ["db-admin"]);
    expect((await refusalOf(ask("alice", ["db-admin"]))).code).toBe("ALREADY_PENDING");
  });

  it("no self-approval, outsiders refused and audited, decisions only while pending", async () => {
    const r = await asked("alice", ["db-admin"]);
    const erin = await e.user("erin");
    // erin is an admin but not a named approver: the policy names approvers, so admins do not decide.
    expect(
      (await refusalOf(decide(e.deps, { requestId: r.requestId, approverId: erin, decision: "approve" }))).code,
    ).toBe("NOT_AN_APPROVER");
    expect(
      (
        await refusalOf(
          decide(e.deps, { requestId: r.requestId, approverId: await e.user("alice"), decision: "approve" }),
        )
      ).code,
    ).toBe("SELF_APPROVAL");
    expect(await statusOf(r.activations[0]!.id)).toBe("pending_approval");
    expect(e.events.filter((ev) => ev.type === "alert" && ev.kind === "unauthorized_approval")).toHaveLength(2);

    const ok = await decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" });
    expect(ok.ok).toBe(true);
    const late = await refusalOf(
      decide(e.deps, { requestId: r.requestId, approverId: await e.user("carol"), decision: "deny" }),
    );
    expect(late.code).toBe("ALREADY_DECIDED");
    expect(late.message).toMatch(/Already approved by Bob Brown at 2026-11-02T09:00/);
    const refused = await queryAudit(e.deps.db, { event: "approval.refused" });
    expect(refused.map((x) => (x.data as { code: string }).code)).toEqual([
      "NOT_AN_APPROVER",
      "SELF_APPROVAL",
      "ALREADY_DECIDED",
    ]);
  });

  it("an approver removed from the set before clicking is refused", async () => {
    const r = await asked("alice", ["db-admin"]);
    const config = loadFixture("engine.yaml");
    config.groups.find((g) => g.key === "approvers")!.members = ["carol", "dave"];
    await applyConfig(e.deps, config);
    expect(
      (
        await refusalOf(
          decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" }),
        )
      ).code,
    ).toBe("NOT_AN_APPROVER");
    expect(
      (await decide(e.deps, { requestId: r.requestId, approverId: await e.user("carol"), decision: "approve" })).ok,
    ).toBe(true);
  });

  it("the first denial ends the whole request", async () => {
    const r = await asked("alice", ["db-admin", "global-admin"], { durationMs: HOUR });
    await satisfyMfa(e.deps, r.activations[1]!.id, await e.user("alice"), { method: "passkey" });
    const denied = await decide(e.deps, {
      requestId: r.requestId,
      approverId: await e.user("dave"),
      decision: "deny",
      comment: "Not during the freeze",
    });
    expect(denied.ok && denied.value.decided).toBe(true);
    const rows = await listRequest(e.deps.db, r.requestId);
    expect(rows.map((a) => a.status)).toEqual(["denied", "denied"]);
    expect(rows[0]).toMatchObject({ reason: "Not during the freeze" });
  });

  it("N of M: two different approvers are needed, and the same approver cannot count twice", async () => {
    const r = await asked("alice", ["global-admin"]);
    const [a] = r.activations;
    expect(a!.status).toBe("pending_mfa");
    expect(
      (
        await refusalOf(
          decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" }),
        )
      ).code,
    ).toBe("WRONG_STATE");
    const wrongMethod = await satisfyMfa(e.deps, a!.id, await e.user("alice"), { method: "totp" });
    expect(!wrongMethod.ok && wrongMethod.error.message).toMatch(/does not accept totp/);
    expect((await satisfyMfa(e.deps, a!.id, await e.user("bob"), { method: "passkey" })).ok).toBe(false);
    expect((await satisfyMfa(e.deps, a!.id, await e.user("alice"), { method: "passkey" })).ok).toBe(true);
    expect(await statusOf(a!.id)).toBe("pending_approval");
    await decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" });
    expect(await statusOf(a!.id)).toBe("pending_approval");
    expect(
      (
        await refusalOf(
          decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" }),
        )
      ).code,
    ).toBe("ALREADY_VOTED");
    await decide(e.deps, { requestId: r.requestId, approverId: await e.user("carol"), decision: "approve" });
    expect(await statusOf(a!.id)).toBe("activating");
  });

  it("times out after the approval deadline, by sweep or at the late click", async () => {
    const first = await asked("alice", ["db-admin"]);
    e.clock.advance(2 * HOUR);
    const late = await refusalOf(
      decide(e.deps, { requestId: first.requestId, approverId: await e.user("bob"), decision: "approve" }),
    );
    expect(late.code).toBe("APPROVAL_TIMED_OUT");
    expect(await statusOf(first.activations[0]!.id)).toBe("timed_out");

    const second = await asked("frank", ["db-admin"]);
    e.clock.advance(2 * HOUR - 1);
    expect(await timeOutDueRequests(e.deps)).toBe(0);
    e.clock.advance(1);
    expect(await timeOutDueRequests(e.deps)).toBe(1);
    expect(await statusOf(second.activations[0]!.id)).toBe("timed_out");
  });

  it("cancel, early deactivation rules, admin revocation", async () => {
    const pending = await asked("alice", ["db-admin"]);
    expect((await refusalOf(cancelRequest(e.deps, pending.requestId, await e.user("bob")))).code).toBe("NOT_YOURS");
    expect((await cancelRequest(e.deps, pending.requestId, await e.user("alice"))).ok).toBe(true);
    expect(await statusOf(pending.activations[0]!.id)).toBe("canceled");

    const billing = await asked("alice", ["billing"], { justification: null });
    await e.worker.drain();
    expect((await refusalOf(deactivate(e.deps, billing.activations[0]!.id, await e.user("alice")))).code).toBe(
      "EARLY_DEACTIVATION_DISABLED",
    );
    const billingId = { activationId: billing.activations[0]!.id };
    const bob = { kind: "person" as const, id: await e.user("bob") };
    expect((await refusalOf(revokeActivationAsAdmin(e.deps, bob, billingId, "no"))).code).toBe("NOT_ADMINISTRATOR");
    const erin = { kind: "person" as const, id: await e.user("erin") };
    const revoked = await revokeActivationAsAdmin(e.deps, erin, billingId, "Leaving the company");
    expect(revoked.ok && revoked.value[0]).toMatchObject({ status: "ending", reason: "revoked" });
    await e.worker.drain();
    expect(await statusOf(billing.activations[0]!.id)).toBe("ended");
  });

  it("extension goes through the policy again and replaces the activation without a gap", async () => {
    const r = await asked("alice", ["db-admin"]);
    await decide(e.deps, { requestId: r.requestId, approverId: await e.user("bob"), decision: "approve" });
    await e.worker.drain();
    e.clock.advance(50 * MINUTE);
    const over = await refusalOf(
      requestExtension(e.deps, {
        activationId: r.activations[0]!.id,
        userId: await e.user("alice"),
        durationMs: 5 * HOUR,
        origin: "api",
      }),
    );
    expect(over.code).toBe("DURATION_OVER_MAX");
    const ext = await requestExtension(e.deps, {
      activationId: r.activations[0]!.id,
      userId: await e.user("alice"),
      durationMs: 2 * HOUR,
      origin: "api",
    });
    if (!ext.ok) throw new Error(ext.error.message);
    expect(ext.value.activations[0]!.status).toBe("pending_approval");
    await decide(e.deps, { requestId: ext.value.requestId, approverId: await e.user("carol"), decision: "approve" });
    await e.worker.drain();
    expect(await statusOf(ext.value.activations[0]!.id)).toBe("active");
    const old = await getActivation(e.deps.db, r.activations[0]!.id);
    expect(old).toMatchObject({ status: "ended", reason: "superseded" });
    const revokes = await queryAudit(e.deps.db, { event: ["connector.revoke.succeeded", "connector.revoke.skipped"] });
    expect(revokes.map((x) => x.event)).toEqual(["connector.revoke.skipped"]);
  });

  it("renewal asks again for what an ended request asked for", async () => {
    const r = await asked("alice", ["reader"]);
    await e.worker.drain();
    await deactivate(e.deps, r.activations[0]!.id, await e.user("alice"));
    await e.worker.drain();
    const renewed = await renewRequest(e.deps, {
      activationId: r.activations[0]!.id,
      userId: await e.user("alice"),
      origin: "api",
    });
    expect(renewed.ok && renewed.value.activations[0]).toMatchObject({
      status: "activating",
      justification: "Investigating INC-123456",
    });
  });

  it("break-glass activates without MFA or approval and is recorded as an alert-worthy use", async () => {
    const r = await asked("glass", ["global-admin"]);
    expect(r.activations[0]!.status).toBe("activating");
    expect(await queryAudit(e.deps.db, { event: "breakglass.used" })).toHaveLength(1);
    expect(e.events.some((ev) => ev.type === "alert" && ev.kind === "break_glass_used")).toBe(true);
  });

  it("apply is idempotent and audits every change", async () => {
    const again = await applyConfig(e.deps, loadFixture("engine.yaml"));
    expect(again.changes).toBe(0);
    const config = loadFixture("engine.yaml");
    config.assignments = config.assignments.filter((a) => a.principal !== "frank");
    config.users.find((u) => u.key === "bob")!.name = "Robert Brown";
    const changed = await applyConfig(e.deps, config);
    expect(changed.byKind).toEqual({ "assignment.removed": 1, "principal.updated": 1 });
    expect((await queryAudit(e.deps.db, { event: "assignment.removed" }))[0]).toMatchObject({
      subject: "frank",
      role: "billing",
    });
  });
});
