import { afterEach, beforeEach, expect, it } from "vitest";
import type { Actor } from "../../src/app/admin/administrators.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { removeAssignment } from "../../src/app/admin/assignments.js";
import { allowRestore, describeRemoval } from "../../src/app/admin/declared-removals.js";
import { roleMembers } from "../../src/app/admin/members.js";
import { closeReview } from "../../src/app/reviews/campaigns.js";
import { startReview } from "../../src/app/reviews/start.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { DAY } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";

describeEachDatabase("declared assignments removed by a review or an administrator stay removed", (driver) => {
  let h: EngineHarness;
  let erin: Actor;
  beforeEach(async () => {
    h = await createEngine(driver, "admin.yaml");
    erin = { kind: "person", id: await h.user("erin") };
  });
  afterEach(async () => {
    await h.dispose();
  });

  const readers = async () => {
    const members = await roleMembers(h.deps, erin, "reader");
    return members.ok ? members.value.members.map((m) => m.principal.key) : [];
  };

  it("a review's removal survives apply (and so a restart, which applies the file), and is listed", async () => {
    const started = await startReview(h.deps, {
      definition: null,
      occurrenceAt: null,
      durationMs: DAY,
      startedBy: "erin",
      settings: {
        title: "Reader review",
        roleIds: [await h.role("reader")],
        groupIds: [],
        kinds: ["eligible"],
        reviewerMode: "named",
        reviewerIds: [await h.user("erin")],
        fallbackIds: [],
        unanswered: "remove",
        inactiveDays: 30,
        autoApply: true,
        remindersMs: [],
      },
    });
    expect(started?.items).toBe(1);
    expect(await closeReview(h.deps, started!.campaign.id)).toBe(true);
    expect(await readers()).toEqual([]);

    const summary = await applyConfig(h.deps, loadFixture("admin.yaml"), "cli");
    expect(await readers()).toEqual([]);
    expect(summary.changes).toBe(0);
    expect(summary.staysRemoved.map(describeRemoval)).toEqual([
      `bob eligible for reader at /: declared in the file, removed by review Reader review on ${h.clock.now().toISOString().slice(0, 10)}`,
    ]);
    // A second apply, as at the next start, again leaves it removed.
    await applyConfig(h.deps, loadFixture("admin.yaml"));
    expect(await readers()).toEqual([]);
  });

  it("an administrator's removal stays removed until an administrator allows the file to restore it", async () => {
    const members = await roleMembers(h.deps, erin, "reader");
    const bob = members.ok ? members.value.members.find((m) => m.principal.key === "bob")! : undefined;
    expect((await removeAssignment(h.deps, erin, bob!.assignmentId, "moved teams")).ok).toBe(true);
    const first = await applyConfig(h.deps, loadFixture("admin.yaml"));
    expect(first.staysRemoved.map((r) => [r.principal, r.removedBy, r.by])).toEqual([["bob", "admin", "erin"]]);
    expect(await readers()).toEqual([]);

    const mallory: Actor = { kind: "person", id: await h.user("mallory") };
    const refused = await allowRestore(h.deps, mallory, {
      principal: "bob",
      role: "reader",
      scope: "/",
      kind: "eligible",
    });
    expect(refused.ok ? "" : refused.error.code).toBe("NOT_ADMINISTRATOR");
    const allowed = await allowRestore(h.deps, erin, {
      principal: "bob",
      role: "reader",
      scope: "/",
      kind: "eligible",
    });
    expect(allowed.ok).toBe(true);
    const second = await applyConfig(h.deps, loadFixture("admin.yaml"));
    expect(second.staysRemoved).toEqual([]);
    expect(await readers()).toEqual(["bob"]);
    expect((await queryAudit(h.deps.db, { event: "assignment.restore_allowed" }))[0]).toMatchObject({ actor: "erin" });
  });
});
