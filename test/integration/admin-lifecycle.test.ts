import { afterEach, beforeEach, expect, it } from "vitest";
import type { Actor } from "../../src/app/admin/administrators.js";
import { assignRole } from "../../src/app/admin/assignments.js";
import {
  decideAssignmentRequest,
  requestAssignmentExtension,
  requestAssignmentRenewal,
  sendAssignmentReminders,
} from "../../src/app/admin/lifecycle.js";
import { roleMembers } from "../../src/app/admin/members.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";

describeEachDatabase("the life of an assignment: reminders, extension, renewal", (driver) => {
  let h: EngineHarness;
  let erin: Actor;
  let assignmentId: string;
  let start: number;
  beforeEach(async () => {
    h = await createEngine(driver, "admin.yaml");
    erin = { kind: "person", id: await h.user("erin") };
    start = h.clock.now().getTime();
    const made = await assignRole(h.deps, erin, {
      principal: "bob",
      role: "db-admin",
      kind: "eligible",
      endsAt: new Date(start + 20 * DAY),
    });
    assignmentId = made.ok && made.value.status === "assigned" ? made.value.assignment.id : "";
  });
  afterEach(async () => {
    await h.dispose();
  });

  const reminders = () => h.events.filter((e) => e.type === "assignment.expiring");

  it("reminds the holder and the administrators 14 days and 1 day before the end, once each", async () => {
    // The dbas group's assignment ends 2027-01-30, far away; only bob's is due.
    expect(await sendAssignmentReminders(h.deps)).toBe(0);
    h.clock.set(new Date(start + 6 * DAY + HOUR));
    expect(await sendAssignmentReminders(h.deps)).toBe(1);
    expect(await sendAssignmentReminders(h.deps)).toBe(0);
    h.clock.set(new Date(start + 19 * DAY + HOUR));
    expect(await sendAssignmentReminders(h.deps)).toBe(1);
    expect(reminders().map((e) => e.type === "assignment.expiring" && e.leadMs)).toEqual([14 * DAY, DAY]);
    const first = reminders()[0];
    expect(first?.type === "assignment.expiring" && first.holderIds).toEqual([await h.user("bob")]);
    expect(first?.type === "assignment.expiring" && first.administratorIds).toEqual([await h.user("erin")]);
  });

  it("the holder asks for an extension with a reason; a non-administrator cannot decide, an administrator approves", async () => {
    const bob = await h.user("bob");
    const early = await requestAssignmentExtension(h.deps, bob, assignmentId, "still migrating");
    expect(early.ok ? "" : early.error.code).toBe("TOO_EARLY");
    h.clock.set(new Date(start + 10 * DAY));
    const notMine = await requestAssignmentExtension(h.deps, await h.user("alice"), assignmentId, "please");
    expect(notMine.ok ? "" : notMine.error.code).toBe("NOT_YOURS");
    const noReason = await requestAssignmentExtension(h.deps, bob, assignmentId, "");
    expect(noReason.ok ? "" : noReason.error.code).toBe("REASON_REQUIRED");
    const asked = await requestAssignmentExtension(h.deps, bob, assignmentId, "still migrating");
    expect(asked.ok).toBe(true);
    const requestId = asked.ok ? asked.value.id : "";
    expect(h.events).toContainEqual(
      expect.objectContaining({
        type: "assignment.request",
        change: "requested",
        administratorIds: [await h.user("erin")],
      }),
    );
    const twice = await requestAssignmentExtension(h.deps, bob, assignmentId, "again");
    expect(twice.ok ? "" : twice.error.code).toBe("ALREADY_PENDING");

    const byMallory = await decideAssignmentRequest(
      h.deps,
      { kind: "person", id: await h.user("mallory") },
      requestId,
      "approve",
    );
    expect(byMallory.ok ? "" : byMallory.error.code).toBe("NOT_ADMINISTRATOR");
    const approved = await decideAssignmentRequest(h.deps, erin, requestId, "approve", "ok");
    expect(approved.ok && approved.value.status).toBe("approved");
    const members = await roleMembers(h.deps, erin, "db-admin");
    const row = members.ok ? members.value.members.find((m) => m.principal.key === "bob") : undefined;
    expect(row?.endsAt).toEqual(asked.ok ? asked.value.endsAt : null);
    expect(row!.endsAt!.getTime()).toBeGreaterThan(start + 20 * DAY);
    const late = await decideAssignmentRequest(h.deps, erin, requestId, "deny");
    expect(late.ok ? "" : late.error.message).toMatch(/^Already approved by Erin Eve/);
    expect((await queryAudit(h.deps.db, { event: "assignment.extend_approved" }))[0]).toMatchObject({
      actor: "erin",
      subject: "bob",
      decision: "approve",
    });
  });

  it("a renewal within 30 days after the end, denied or approved by an administrator", async () => {
    const bob = await h.user("bob");
    const tooSoon = await requestAssignmentRenewal(h.deps, bob, assignmentId, "need it again");
    expect(tooSoon.ok ? "" : tooSoon.error.code).toBe("WRONG_STATE");
    h.clock.set(new Date(start + 51 * DAY));
    const tooLate = await requestAssignmentRenewal(h.deps, bob, assignmentId, "need it again");
    expect(tooLate.ok ? "" : tooLate.error.code).toBe("TOO_LATE");
    h.clock.set(new Date(start + 30 * DAY));
    const first = await requestAssignmentRenewal(h.deps, bob, assignmentId, "need it again");
    const denied = await decideAssignmentRequest(h.deps, erin, first.ok ? first.value.id : "", "deny", "not now");
    expect(denied.ok && denied.value.status).toBe("denied");
    const second = await requestAssignmentRenewal(h.deps, bob, assignmentId, "really need it");
    const approved = await decideAssignmentRequest(h.deps, erin, second.ok ? second.value.id : "", "approve");
    expect(approved.ok).toBe(true);
    const members = await roleMembers(h.deps, erin, "db-admin");
    const row = members.ok ? members.value.members.find((m) => m.principal.key === "bob") : undefined;
    expect(row).toMatchObject({ inForce: true, startsAt: h.clock.now() });
  });
});
