import { Writable } from "node:stream";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { requestActivation } from "../../src/app/activation/request.js";
import type { Actor } from "../../src/app/admin/administrators.js";
import { auditHistory, exportAuditFor, myDecisionHistory, myRequestHistory } from "../../src/app/admin/history.js";
import { exportAuditCsv, queryAudit } from "../../src/db/audit-log.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";

function collector(): { out: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString("utf8") };
}

describeEachDatabase("history: my requests, my decisions, the audit log", (driver) => {
  let h: EngineHarness;
  const as = async (key: string): Promise<Actor> => ({ kind: "person", id: await h.user(key) });
  beforeEach(async () => {
    h = await createEngine(driver, "admin.yaml");
    const bob = await h.user("bob");
    const reader = await requestActivation(h.deps, {
      requesterId: bob,
      roles: [{ roleId: await h.role("reader") }],
      durationMs: HOUR,
      justification: "read logs",
      origin: "cli",
    });
    expect(reader.ok).toBe(true);
    h.clock.advance(60_000);
    const ops = await requestActivation(h.deps, {
      requesterId: bob,
      roles: [{ roleId: await h.role("ops") }],
      durationMs: HOUR,
      justification: "restart",
      origin: "cli",
    });
    const decided = await decide(h.deps, {
      requestId: ops.ok ? ops.value.requestId : "",
      approverId: await h.user("erin"),
      decision: "deny",
      comment: "not today",
    });
    expect(decided.ok).toBe(true);
    await h.worker.runOnce();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it("my requests of the last 90 days with their outcome", async () => {
    const mine = await myRequestHistory(h.deps, await h.user("bob"));
    expect(mine.map((r) => r.roles.map((x) => `${x.roleKey}: ${x.outcome}`))).toEqual([
      ["ops: denied"],
      [`reader: active until ${new Date(h.clock.now().getTime() + HOUR).toISOString()}`],
    ]);
    h.clock.advance(91 * DAY);
    expect(await myRequestHistory(h.deps, await h.user("bob"))).toEqual([]);
  });

  it("the decisions I made", async () => {
    const decisions = await myDecisionHistory(h.deps, await h.user("erin"));
    expect(decisions).toMatchObject([
      { requester: { key: "bob" }, roleName: "Operations", decision: "deny", comment: "not today", status: "denied" },
    ]);
    expect(await myDecisionHistory(h.deps, await h.user("bob"))).toEqual([]);
  });

  it("the audit log for administrators and named auditors only, filtered; refusals audited", async () => {
    const refused = await auditHistory(h.deps, await as("bob"), {});
    expect(refused.ok ? "" : refused.error.code).toBe("NOT_ADMINISTRATOR");
    const byAuditor = await auditHistory(h.deps, await as("audra"), { principal: "bob", role: "ops" });
    expect(byAuditor.ok && byAuditor.value.map((e) => e.event)).toEqual([
      "activation.denied",
      "approval.deny",
      "activation.pending_approval",
      "activation.requested",
      "assignment.created",
    ]);
    const byEvent = await auditHistory(h.deps, await as("erin"), { event: ["activation.active"], limit: 5 });
    expect(byEvent.ok && byEvent.value.map((e) => `${e.subject}:${e.role}`)).toEqual(["bob:reader"]);
    const future = await auditHistory(h.deps, await as("erin"), { from: new Date(h.clock.now().getTime() + DAY) });
    expect(future.ok && future.value).toEqual([]);
    expect((await queryAudit(h.deps.db, { event: "admin.refused" }))[0]).toMatchObject({
      actor: "bob",
      data: { action: "audit.query" },
    });
  });

  it("the export gives the same rows as `pim audit export` for the same filter, and is audited", async () => {
    const filter = { principal: "bob" };
    const mine = collector();
    const done = await exportAuditFor(h.deps, h.handle, await as("audra"), filter, mine.out);
    expect(done.ok && done.value.rows).toBeGreaterThan(4);
    const direct = collector();
    await exportAuditCsv(h.handle, filter, direct.out);
    expect(mine.text()).toBe(direct.text());
    expect(mine.text().split("\n")[0]).toBe(
      "time,event,actor,subject,role,scope,justification,ticket,decision,approver,request_id,activation_id,hash",
    );
    expect((await queryAudit(h.deps.db, { event: "audit.exported" }))[0]).toMatchObject({ actor: "audra" });
    const refused = await exportAuditFor(h.deps, h.handle, await as("mallory"), filter, collector().out);
    expect(refused.ok ? "" : refused.error.code).toBe("NOT_ADMINISTRATOR");
  });
});
