import { afterEach, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import type { Actor } from "../../src/app/admin/administrators.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import {
  assignRole,
  changeAssignmentEnd,
  completeAssignmentStepUp,
  removeAssignment,
} from "../../src/app/admin/assignments.js";
import { roleMembers } from "../../src/app/admin/members.js";
import { revokeActivationAsAdmin } from "../../src/app/admin/revoke-activation.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

describeEachDatabase("administration: who, assignments, rules", (driver) => {
  let h: EngineHarness;
  const as = async (key: string): Promise<Actor> => ({ kind: "person", id: await h.user(key) });
  beforeEach(async () => {
    h = await createEngine(driver, "admin.yaml");
  });
  afterEach(async () => {
    await h.dispose();
  });

  it("an admin: true user assigns a user eligible; the holder and admins are told", async () => {
    const done = await assignRole(h.deps, await as("erin"), {
      principal: "bob",
      role: "db-admin",
      kind: "eligible",
      endsAt: new Date(h.clock.now().getTime() + 30 * DAY),
    });
    expect(done.ok && done.value.status).toBe("assigned");
    const event = (await queryAudit(h.deps.db, { event: "assignment.created", principal: "bob" })).at(-1);
    expect(event).toMatchObject({ actor: "erin", subject: "bob", role: "db-admin", scope: "/mg/prod" });
    const told = h.events.find((e) => e.type === "assignment.changed");
    expect(told).toMatchObject({ change: "created", principalId: await h.user("bob") });
    expect(told?.type === "assignment.changed" && told.audienceIds.sort()).toEqual(
      [await h.user("bob"), await h.user("erin")].sort(),
    );
  });

  it("a non-administrator is refused, audited and alerted", async () => {
    const done = await assignRole(h.deps, await as("mallory"), {
      principal: "mallory",
      role: "reader",
      kind: "active",
    });
    expect(done.ok ? "" : done.error.code).toBe("NOT_ADMINISTRATOR");
    const [refused] = await queryAudit(h.deps.db, { event: "admin.refused" });
    expect(refused).toMatchObject({
      actor: "mallory",
      data: { action: "assignment.create", code: "NOT_ADMINISTRATOR" },
    });
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: "alert", kind: "unauthorized_approval", subject: "mallory" }),
    );
  });

  it("a holder of the administrator role administers only while it is active", async () => {
    const pam = await as("pam");
    const before = await assignRole(h.deps, pam, { principal: "bob", role: "reader", kind: "eligible", endsAt: null });
    expect(before.ok ? "" : before.error.code).toBe("ADMIN_ROLE_NOT_ACTIVE");
    expect(h.events.some((e) => e.type === "alert")).toBe(false);
    const requested = await requestActivation(h.deps, {
      requesterId: await h.user("pam"),
      roles: [{ roleId: await h.role("pim-admin") }],
      durationMs: HOUR,
      justification: "assign bob",
      origin: "cli",
    });
    expect(requested.ok).toBe(true);
    await h.worker.runOnce();
    const after = await assignRole(h.deps, pam, { principal: "alice", role: "reader", kind: "eligible", endsAt: null });
    expect(after.ok && after.value.status).toBe("assigned");
  });

  it("nobody changes their own assignments, not even through a group", async () => {
    const erin = await as("erin");
    const own = await assignRole(h.deps, erin, { principal: "erin", role: "reader", kind: "eligible" });
    expect(own.ok ? "" : own.error.code).toBe("SELF_ASSIGNMENT");
    const members = await roleMembers(h.deps, erin, "db-admin");
    const dbas = members.ok ? members.value.members.find((m) => m.principal.key === "dbas")! : undefined;
    const viaGroup = await removeAssignment(h.deps, erin, dbas!.assignmentId, "cleanup");
    expect(viaGroup.ok ? "" : viaGroup.error.code).toBe("SELF_ASSIGNMENT");
    expect((await queryAudit(h.deps.db, { event: "admin.refused" })).map((e) => e.data.code)).toEqual([
      "SELF_ASSIGNMENT",
      "SELF_ASSIGNMENT",
    ]);
  });

  it("the role's rules refuse with their reason: permanent, too long, no justification", async () => {
    const erin = await as("erin");
    const now = h.clock.now().getTime();
    const permanent = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "active",
      justification: "x",
    });
    expect(permanent.ok ? "" : permanent.error.message).toBe(
      "Database Administrator does not allow permanent active assignments; give an end at most 30d after the start.",
    );
    const long = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "active",
      endsAt: new Date(now + 31 * DAY),
      justification: "x",
    });
    expect(long.ok ? "" : long.error.code).toBe("ASSIGNMENT_TOO_LONG");
    const bare = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "active",
      endsAt: new Date(now + DAY),
    });
    expect(bare.ok ? "" : bare.error.code).toBe("JUSTIFICATION_REQUIRED");
  });

  it("an active assignment under requireMfaOnActive waits for the administrator's step-up", async () => {
    const erin = await as("erin");
    const endsAt = new Date(h.clock.now().getTime() + 7 * DAY);
    const held = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "active",
      endsAt,
      justification: "migration week",
    });
    expect(held.ok && held.value.status).toBe("pending_step_up");
    const members = await roleMembers(h.deps, erin, "db-admin");
    expect(members.ok && members.value.members.map((m) => m.principal.key)).toEqual(["dbas"]);
    const pendingId = held.ok && held.value.status === "pending_step_up" ? held.value.pendingId : "";
    const wrong = await completeAssignmentStepUp(h.deps, pendingId, await h.user("pam"), { method: "totp" });
    expect(wrong.ok ? "" : wrong.error.code).toBe("NOT_YOURS");
    const done = await completeAssignmentStepUp(h.deps, pendingId, await h.user("erin"), { method: "totp" });
    expect(done.ok && done.value).toMatchObject({ principalKey: "bob", kind: "active", source: "chat", endsAt });
    const again = await completeAssignmentStepUp(h.deps, pendingId, await h.user("erin"), { method: "totp" });
    expect(again.ok ? "" : again.error.code).toBe("ALREADY_DECIDED");
    await h.worker.runOnce();
    const after = await roleMembers(h.deps, erin, "db-admin");
    const bob = after.ok ? after.value.members.find((m) => m.principal.key === "bob") : undefined;
    expect(bob).toMatchObject({ kind: "active", activeNow: true, source: "chat" });
  });

  it("an administrator changes an end within the rules and removes a chat-made assignment", async () => {
    const erin = await as("erin");
    const now = h.clock.now().getTime();
    const made = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "eligible",
      endsAt: new Date(now + 10 * DAY),
    });
    const id = made.ok && made.value.status === "assigned" ? made.value.assignment.id : "";
    const tooLong = await changeAssignmentEnd(h.deps, erin, id, new Date(now + 91 * DAY), "longer project");
    expect(tooLong.ok ? "" : tooLong.error.code).toBe("ASSIGNMENT_TOO_LONG");
    const longer = await changeAssignmentEnd(h.deps, erin, id, new Date(now + 60 * DAY), "longer project");
    expect(longer.ok && longer.value.endsAt).toEqual(new Date(now + 60 * DAY));
    const gone = await removeAssignment(h.deps, erin, id, "project over");
    expect(gone.ok).toBe(true);
    const removed = await queryAudit(h.deps.db, { event: "assignment.removed" });
    expect(removed[0]).toMatchObject({
      actor: "erin",
      subject: "bob",
      data: { reason: "project over", source: "chat" },
    });
  });

  it("removing an eligibility revokes the activation it backed", async () => {
    const pamActor = await as("erin");
    const reader = await h.role("reader");
    const requested = await requestActivation(h.deps, {
      requesterId: await h.user("bob"),
      roles: [{ roleId: reader }],
      durationMs: HOUR,
      justification: "read",
      origin: "cli",
    });
    expect(requested.ok).toBe(true);
    await h.worker.runOnce();
    const members = await roleMembers(h.deps, pamActor, "reader");
    const bob = members.ok ? members.value.members.find((m) => m.principal.key === "bob")! : undefined;
    expect(bob).toMatchObject({ activeNow: true, source: "file" });
    expect(await removeAssignment(h.deps, pamActor, bob!.assignmentId, "left the team")).toMatchObject({ ok: true });
    const ended = await queryAudit(h.deps.db, { event: "activation.ending" });
    expect(ended[0]).toMatchObject({ subject: "bob", data: { reason: "eligibility removed", by: "erin" } });
  });

  it("an administrator revokes someone's activation with a reason; the holder's card is redrawn", async () => {
    const requested = await requestActivation(h.deps, {
      requesterId: await h.user("bob"),
      roles: [{ roleId: await h.role("reader") }],
      durationMs: HOUR,
      justification: "read",
      origin: "cli",
    });
    await h.worker.runOnce();
    const activationId = requested.ok ? requested.value.activations[0]!.id : "";
    const noReason = await revokeActivationAsAdmin(h.deps, await as("erin"), { activationId }, " ");
    expect(noReason.ok ? "" : noReason.error.code).toBe("REASON_REQUIRED");
    const byMallory = await revokeActivationAsAdmin(h.deps, await as("mallory"), { activationId }, "because");
    expect(byMallory.ok ? "" : byMallory.error.code).toBe("NOT_ADMINISTRATOR");
    h.events.length = 0;
    const revoked = await revokeActivationAsAdmin(h.deps, await as("erin"), { activationId }, "suspicious use");
    expect(revoked.ok && revoked.value.map((a) => a.status)).toEqual(["ending"]);
    expect(h.events).toContainEqual({
      type: "request.changed",
      requestId: requested.ok ? requested.value.requestId : "",
    });
    const [event] = await queryAudit(h.deps.db, { event: "activation.ending" });
    expect(event).toMatchObject({ actor: "erin", subject: "bob", data: { reason: "suspicious use" } });
  });

  it("applying the file again leaves chat-made assignments alone", async () => {
    const erin = await as("erin");
    await assignRole(h.deps, erin, { principal: "alice", role: "reader", kind: "eligible" });
    await applyConfig(h.deps, loadFixture("admin.yaml"));
    const members = await roleMembers(h.deps, erin, "reader");
    expect(members.ok && members.value.members.map((m) => `${m.principal.key}:${m.source}`)).toEqual([
      "alice:chat",
      "bob:file",
    ]);
  });
});
