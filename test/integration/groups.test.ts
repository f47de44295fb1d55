import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { expireDueActivations } from "../../src/app/activation/expire.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { eligibleRoles } from "../../src/app/activation/views.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { conditionsOf } from "../../src/app/alerts/facts.js";
import { startReviewFromChat } from "../../src/app/reviews/start.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { reviewItems } from "../../src/db/schema/reviews.js";
import { DEFAULT_THRESHOLDS } from "../../src/domain/alert-rules.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { detectDrift } from "../../src/jobs/drift.js";
import { describeEachDatabase, describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness, loadFixture } from "../support/engine.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { PostgresTarget } from "../support/postgres-target.js";

const MEMBER = "group:oncall:member";

describeEachDatabase("PIM for Groups", (driver) => {
  let e: EngineHarness;
  const config = loadFixture("groups.yaml");
  beforeAll(async () => {
    e = await createEngine(driver, "groups.yaml");
    await e.worker.drain();
  });
  afterAll(() => e.dispose());
  // One database for the file: each case ends everything it started.

  async function holds(user: string, role: string) {
    const rows = await e.handle.db
      .select()
      .from(logHoldings)
      .where(and(eq(logHoldings.login, user), eq(logHoldings.role, role)));
    return rows.length;
  }

  /** Calls that granted `role` to `user` on its target, since the file's database was made. */
  async function grantCalls(user: string, role: string) {
    const done = await queryAudit(e.deps.db, { event: "connector.grant.succeeded" });
    return done.filter((d) => d.subject === user && d.role === role).length;
  }

  async function request(user: string, role: string, scope?: string) {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role(role), scope: scope ?? null }],
      durationMs: HOUR,
      justification: "on call tonight",
      origin: "api",
    });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value.activations[0]!;
  }

  async function becomeMember(user: string) {
    const m = await request(user, MEMBER);
    expect(m.status).toBe("pending_approval");
    const approved = await decide(e.deps, {
      requestId: m.requestId,
      approverId: await e.user("carol"),
      decision: "approve",
    });
    if (!approved.ok) throw new Error(approved.error.message);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, m.id))!.status).toBe("active");
    return m;
  }

  it("an owner approves a membership request; the member then holds the group's active roles until it ends", async () => {
    const m = await becomeMember("alice");
    const decisions = await queryAudit(e.deps.db, { event: "approval.approve" });
    expect(decisions.map((d) => d.actor)).toEqual(["carol"]);
    // The group's active assignment of reader reaches alice on its target, through her membership.
    expect(await holds("alice", "reader")).toBe(1);
    expect(await holds("alice", MEMBER)).toBe(1);

    await deactivate(e.deps, m.id, await e.user("alice"));
    await e.worker.drain();
    expect((await getActivation(e.deps.db, m.id))!.status).toBe("ended");
    expect(await holds("alice", "reader")).toBe(0);
    expect(await holds("alice", MEMBER)).toBe(0);
  });

  it("a role held both through the group and directly is granted once and revoked only when both have ended", async () => {
    const callsBefore = await grantCalls("alice", "reader");
    const direct = await request("alice", "reader");
    await e.worker.drain();
    expect((await getActivation(e.deps.db, direct.id))!.status).toBe("active");
    const m = await becomeMember("alice");
    expect(await holds("alice", "reader")).toBe(1);
    // One call granted reader to alice: the membership found it held already.
    expect((await grantCalls("alice", "reader")) - callsBefore).toBe(1);
    const already = await queryAudit(e.deps.db, { event: "connector.grant.skipped" });
    expect(already.some((s) => s.data.detail === `already held: activation ${direct.id}`)).toBe(true);

    // The direct activation ends first: the membership still holds reader.
    await deactivate(e.deps, direct.id, await e.user("alice"));
    await e.worker.drain();
    expect((await getActivation(e.deps.db, direct.id))!.status).toBe("ended");
    expect(await holds("alice", "reader")).toBe(1);
    const skipped = await queryAudit(e.deps.db, { event: "connector.revoke.skipped" });
    expect(
      skipped.some((s) => s.activationId === direct.id && String(s.data.detail).includes(`activation ${m.id}`)),
    ).toBe(true);

    // Then the membership runs out: nothing holds reader any more.
    e.clock.advance(HOUR + MINUTE);
    expect(await expireDueActivations(e.deps, 100)).toBeGreaterThanOrEqual(1);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, m.id))!.status).toBe("ended");
    expect(await holds("alice", "reader")).toBe(0);
  });

  it("while the membership lasts, a role the group holds active is nothing to activate directly", async () => {
    const m = await becomeMember("alice");
    const direct = await requestActivation(e.deps, {
      requesterId: await e.user("alice"),
      roles: [{ roleId: await e.role("reader") }],
      durationMs: HOUR,
      justification: "investigate",
      origin: "api",
    });
    expect(!direct.ok && direct.error.code).toBe("ALREADY_ACTIVE");
    await deactivate(e.deps, m.id, await e.user("alice"));
    await e.worker.drain();
    expect(await holds("alice", "reader")).toBe(0);
  });

  it("eligibility through the group is honoured only while the membership is active", async () => {
    const alice = await e.user("alice");
    const writer = await e.role("writer");
    const before = await requestActivation(e.deps, {
      requesterId: alice,
      roles: [{ roleId: writer, scope: "/mg/prod" }],
      durationMs: HOUR,
      justification: "hotfix",
      origin: "api",
    });
    expect(!before.ok && before.error.code).toBe("NOT_ELIGIBLE");
    expect((await eligibleRoles(e.deps.db, alice, e.clock.now())).some((r) => r.roleId === writer)).toBe(false);

    const m = await becomeMember("alice");
    expect((await eligibleRoles(e.deps.db, alice, e.clock.now())).some((r) => r.roleId === writer)).toBe(true);
    const w = await request("alice", "writer", "/mg/prod");
    await e.worker.drain();
    expect((await getActivation(e.deps.db, w.id))!.status).toBe("active");
    expect(await holds("alice", "writer")).toBe(1);

    // The membership ends: what only it made possible ends with it.
    await deactivate(e.deps, m.id, alice);
    await e.worker.drain();
    const ended = (await getActivation(e.deps.db, w.id))!;
    expect(ended.status).toBe("ended");
    expect(ended.status === "ended" && ended.reason).toBe("revoked");
    expect(await holds("alice", "writer")).toBe(0);
    const after = await requestActivation(e.deps, {
      requesterId: alice,
      roles: [{ roleId: writer, scope: "/mg/prod" }],
      durationMs: HOUR,
      justification: "hotfix again",
      origin: "api",
    });
    expect(!after.ok && after.error.code).toBe("NOT_ELIGIBLE");
  });

  it("a standing membership (an active assignment) holds the group's active roles and its eligibilities", async () => {
    expect(await holds("dave", MEMBER)).toBe(1);
    expect(await holds("dave", "reader")).toBe(1);
    // The group itself is no login on the target: its roles go to its members.
    expect(await holds("oncall", "reader")).toBe(0);
    const dave = await e.user("dave");
    const writer = await e.role("writer");
    expect((await eligibleRoles(e.deps.db, dave, e.clock.now())).some((r) => r.roleId === writer)).toBe(true);
    const w = await request("dave", "writer", "/mg/prod");
    await e.worker.drain();
    expect((await getActivation(e.deps.db, w.id))!.status).toBe("active");
    await deactivate(e.deps, w.id, dave);
    await e.worker.drain();
    expect(await holds("dave", "writer")).toBe(0);
    expect(await holds("dave", "reader")).toBe(1);
  });

  it("counts people who reach a critical role through a group's membership as holders of it", async () => {
    // writer is critical; the group is eligible for it: alice and bob may activate membership,
    // dave holds it standing. Nobody holds writer directly.
    const thresholds = { ...DEFAULT_THRESHOLDS, tooManyGlobalAdmins: { count: 2, percent: 50 } };
    const [alert] = await conditionsOf("too_many_global_admins", e.deps.db, e.clock.now(), thresholds);
    expect(alert?.fields.find((f) => f.label === "Who")?.value).toBe("Alice Adams, Bob Brown, Dave Dale");
  });

  it("an access review covers a privileged group's members and owners; owners review membership", async () => {
    const started = await startReviewFromChat(e.deps, await e.user("erin"), "oncall-members", config.reviews);
    if (!started.ok) throw new Error(started.error.message);
    const items = await e.handle.db
      .select()
      .from(reviewItems)
      .where(eq(reviewItems.campaignId, started.value.campaign.id));
    const member = await e.role(MEMBER);
    const owner = await e.role("group:oncall:owner");
    const keys = new Map(await Promise.all(["alice", "bob", "dave"].map(async (k) => [await e.user(k), k] as const)));
    const seen = items.map(
      (i) => `${keys.get(i.principalId)} ${i.roleId === member ? "member" : i.roleId === owner ? "owner" : i.roleId}`,
    );
    expect(seen.sort()).toEqual(["alice member", "bob member", "bob owner", "dave member"]);
    // The group's owner, carol, reviews who may be a member, beside the review's own reviewer.
    const [erin, carol] = [await e.user("erin"), await e.user("carol")];
    for (const item of items)
      expect(item.reviewers.sort()).toEqual(item.roleId === member ? [carol, erin].sort() : [erin]);
  });

  it("drift detection: what members hold through the group is expected; a member added by hand is reported", async () => {
    const m = await becomeMember("alice");
    let report = await detectDrift(e.deps, e.connectors);
    expect(report).toMatchObject({ unexpected: [], revokedAgain: [], regranted: [] });

    // Someone makes erin a member on the group's target, outside PIM.
    await e.handle.db.insert(logHoldings).values({ login: "erin", role: MEMBER, scope: "/", grantedBy: "by hand" });
    report = await detectDrift(e.deps, e.connectors);
    expect(report.unexpected).toEqual([{ connector: "log", login: "erin", role: MEMBER, scope: "/" }]);
    await e.handle.db.delete(logHoldings).where(eq(logHoldings.login, "erin"));

    await deactivate(e.deps, m.id, await e.user("alice"));
    await e.worker.drain();
    report = await detectDrift(e.deps, e.connectors);
    expect(report).toMatchObject({ unexpected: [], revokedAgain: [], regranted: [] });
  });

  it("a role the group comes to hold while someone is a member reaches them, and leaves with it", async () => {
    const m = await becomeMember("alice");
    const more = loadFixture("groups.yaml");
    more.assignments.push({
      principal: "oncall",
      role: "writer",
      scope: "/mg/prod",
      kind: "active",
      start: null,
      end: new Date("2027-01-01T00:00:00Z"),
      justification: "Release week",
    });
    await applyConfig(e.deps, more);
    await e.worker.drain();
    expect(await holds("alice", "writer")).toBe(1);
    expect(await holds("oncall", "writer")).toBe(0);

    await applyConfig(e.deps, config);
    await e.worker.drain();
    expect(await holds("alice", "writer")).toBe(0);
    expect(await holds("alice", "reader")).toBe(1);
    await deactivate(e.deps, m.id, await e.user("alice"));
    await e.worker.drain();
    expect(await holds("alice", "reader")).toBe(0);
  });

  it("nobody approves their own membership, and only owners approve it", async () => {
    const bob = await e.user("bob");
    // bob becomes an owner just in time (ownership needs no approval here)...
    const ownership = await request("bob", "group:oncall:owner");
    await e.worker.drain();
    expect((await getActivation(e.deps.db, ownership.id))!.status).toBe("active");
    // ...and may now decide alice's membership.
    const m = await request("alice", MEMBER);
    const byDave = await decide(e.deps, {
      requestId: m.requestId,
      approverId: await e.user("dave"),
      decision: "approve",
    });
    expect(!byDave.ok && byDave.error.code).toBe("NOT_AN_APPROVER");
    const byBob = await decide(e.deps, { requestId: m.requestId, approverId: bob, decision: "approve" });
    expect(byBob.ok).toBe(true);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, m.id))!.status).toBe("active");

    // bob asks for membership himself: as an owner he may not approve it.
    const own = await request("bob", MEMBER);
    const self = await decide(e.deps, { requestId: own.requestId, approverId: bob, decision: "approve" });
    expect(!self.ok && self.error.code).toBe("SELF_APPROVAL");
    expect((await getActivation(e.deps.db, own.id))!.status).toBe("pending_approval");
    const refusals = await queryAudit(e.deps.db, { event: "approval.refused" });
    expect(refusals.some((r) => r.actor === "bob" && r.data.code === "SELF_APPROVAL")).toBe(true);
    // A declared owner approves it instead.
    const byCarol = await decide(e.deps, {
      requestId: own.requestId,
      approverId: await e.user("carol"),
      decision: "approve",
    });
    expect(byCarol.ok).toBe(true);

    // Once bob's ownership ends, he decides nothing more for the group.
    await deactivate(e.deps, ownership.id, bob);
    await deactivate(e.deps, m.id, await e.user("alice"));
    await e.worker.drain();
    const again = await request("alice", MEMBER);
    const late = await decide(e.deps, { requestId: again.requestId, approverId: bob, decision: "approve" });
    expect(!late.ok && late.error.code).toBe("NOT_AN_APPROVER");
  });
});

describeOnPostgres("PIM for Groups on a real PostgreSQL target", () => {
  let target: PostgresTarget;
  let e: Harness | undefined;
  afterEach(async () => {
    await e?.dispose();
    await target?.dispose();
  });

  it("membership of the group is membership of its PostgreSQL role, with the group's active roles, until it ends", async () => {
    target = await PostgresTarget.create();
    const alice = target.name("alice");
    const boss = target.name("boss");
    const groupRole = `oncall_${target.suffix}`;
    const dbAdmin = `db_admin_${target.suffix}`;
    await target.createRole(groupRole);
    await target.createRole(dbAdmin);
    await target.createRole(alice, { login: true });
    e = await createHarness(
      "postgres",
      parseConfig(`
version: 1
users:
  - { key: ${alice}, name: Alice, email: alice-${alice}@example.com }
  - { key: ${boss}, name: Boss, email: boss-${boss}@example.com }
groups:
  - key: oncall
    name: On call
    privileged: true
    owners: [${boss}]
    connector: { type: postgres, urlEnv: PIM_TEST_TARGET_URL, role: ${groupRole} }
    policy: { activation: { requireApproval: true } }
defaults:
  activation: { requireMfa: false, requireJustification: false }
roles:
  - key: db-admin
    name: Database Administrator
    connector: { type: postgres, urlEnv: PIM_TEST_TARGET_URL, role: ${dbAdmin} }
assignments:
  - { principal: ${alice}, group: oncall, kind: eligible }
  - { principal: oncall, role: db-admin, kind: active, end: "2027-06-01T00:00:00Z", justification: on call }
`),
      { env: { PIM_TEST_TARGET_URL: target.url } },
    );
    await e.worker.drain();
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(alice),
      roles: [{ roleId: await e.role(MEMBER) }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const approved = await decide(e.deps, {
      requestId: r.value.requestId,
      approverId: await e.user(boss),
      decision: "approve",
    });
    expect(approved.ok).toBe(true);
    await e.worker.drain();
    const m = r.value.activations[0]!;
    expect((await getActivation(e.deps.db, m.id))!.status).toBe("active");
    expect(await target.isMember(alice, groupRole)).toBe(true);
    expect(await target.isMember(alice, dbAdmin)).toBe(true);
    // The group is no login on the target: nothing was granted to it, nothing failed.
    expect(await queryAudit(e.deps.db, { event: "connector.grant.failed" })).toEqual([]);

    await deactivate(e.deps, m.id, await e.user(alice));
    await e.worker.drain();
    expect(await target.isMember(alice, groupRole)).toBe(false);
    expect(await target.isMember(alice, dbAdmin)).toBe(false);
  });
});
