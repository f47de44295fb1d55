import { afterEach, beforeEach, expect, it } from "vitest";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { describeChat } from "../support/databases.js";
import { loadFixture } from "../support/engine.js";
import type { StoredView } from "../support/slack/slack-api.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

type Json = Record<string, unknown>;

const inputs = (view: StoredView) => ((view.view.blocks as Json[]) ?? []).filter((b) => b.type === "input");
const blockIds = (view: StoredView) => inputs(view).map((b) => String(b.block_id).split(":")[0]);
const durationLabels = (view: StoredView) => {
  const block = inputs(view).find((b) => String(b.block_id).startsWith("duration"))!;
  return ((block.element as Json).options as Json[]).map((o) => (o.text as Json).text);
};

describeChat("Slack: the request form", (driver) => {
  let w: SlackWorld;
  let d: SlackDriver;
  beforeEach(async () => {
    w = await startSlackWorld(driver);
    d = slackScenarioWorld(w).driver as SlackDriver;
  });
  afterEach(async () => {
    expect(w.api.violations).toEqual([]);
    await w.dispose();
  });

  it("opens a loading modal with the fresh trigger id at once, then draws the form in it", async () => {
    const form = await d.openForm("alice");
    const [open] = w.api.callsOf("views.open");
    const [update] = w.api.callsOf("views.update");
    expect(open!.response.ok).toBe(true);
    expect(JSON.stringify(form.versions[0])).toContain("Loading");
    expect(update!.args.view_id).toBe(form.id);
    expect(blockIds(form)).toEqual(["roles", "duration", "justification", "start"]);
    expect(w.api.callsOf("views.open").every((c) => c.response.ok)).toBe(true);
  });

  it("shows the ticket field once a role that needs one is picked, and explains a wrong ticket on that field", async () => {
    const dbAdmin = await w.engine.role("db-admin");
    const form = await d.pickRoles("alice", await d.openForm("alice"), [dbAdmin]);
    expect(blockIds(form)).toEqual(["roles", "duration", "justification", "ticket", "start"]);
    expect(JSON.stringify(inputs(form).at(-2))).toContain("Must look like INC-123456.");
    const errors = await d.submitted(
      await w.slack.submit("U0ALICE", form, {
        roles: { options: [dbAdmin] },
        justification: "Fix the index",
        ticket: "JIRA-1",
      }),
    );
    expect(errors).toEqual({ ticket: "Ticket must look like INC-123456." });
  });

  it("offers durations only up to the strictest maximum of the roles picked", async () => {
    const form = await d.openForm("alice");
    expect(durationLabels(form).at(-1)).toBe("8h");
    await d.pickRoles("alice", form, [await w.engine.role("reader"), await w.engine.role("global-admin")]);
    expect(durationLabels(form)).toEqual(["15m", "30m", "1h", "2h"]);
  });

  it("puts each refusal next to the field that caused it", async () => {
    const form = await d.openForm("alice");
    expect(await d.submitted(await w.slack.submit("U0ALICE", form, { justification: "x" }))).toEqual({
      roles: "Pick at least one role.",
    });
    const reader = await w.engine.role("reader");
    await d.pickRoles("alice", form, [reader]);
    expect(await d.submitted(await w.slack.submit("U0ALICE", form, { roles: { options: [reader] } }))).toEqual({
      justification: "Reader requires a justification: say why you need it.",
    });
    const forged = await w.slack.submit("U0ALICE", form, {
      roles: { options: [reader] },
      duration: { option: String(9 * 3_600_000) },
      justification: "x",
    });
    expect(await d.submitted(forged)).toEqual({ duration: "Reader can be active for at most 8h; you asked for 9h." });
  });

  it("asks which scope when a role can be activated at several, and requests the one picked", async () => {
    const config = loadFixture("slack.yaml");
    config.assignments.push({
      principal: "alice",
      role: "db-admin",
      scope: "/mg/dev",
      kind: "eligible",
      start: null,
      end: null,
      justification: null,
    });
    await applyConfig(w.deps, config);
    const dbAdmin = await w.engine.role("db-admin");
    const form = await d.pickRoles("alice", await d.openForm("alice"), [dbAdmin]);
    expect(blockIds(form)).toContain(`scope.${dbAdmin}`);
    const errors = await d.submitted(
      await w.slack.submit("U0ALICE", form, {
        roles: { options: [dbAdmin] },
        [`scope.${dbAdmin}`]: { option: "/mg/dev" },
        justification: "Seed the dev database",
        ticket: "INC-000001",
      }),
    );
    expect(errors).toEqual({});
    expect((await d.card("alice", "requester"))!.text).toContain("Database Administrator at /mg/dev");
  });

  it("tells someone with no eligible role so, and who to ask", async () => {
    const view = await d.openForm("dave");
    const text = d.snapshot(view.view as { blocks: Json[] }).text;
    expect(text).toContain(
      "You are not eligible for any privileged role right now. To get one, ask a PIM administrator.",
    );
    expect(inputs(view)).toEqual([]);
  });

  it("says so, instead of an empty picker Slack would refuse, when every role is already pending", async () => {
    const first = await d.openForm("frank");
    const offered = ((inputs(first)[0]!.element as Json).options as Json[]).map((o) => String(o.value));
    expect(offered.length).toBeGreaterThan(0);
    for (const roleId of offered) {
      const form = await d.pickRoles("frank", await d.openForm("frank"), [roleId]);
      const errors = await d.submitted(
        await w.slack.submit("U0FRANK", form, {
          roles: { options: [roleId] },
          justification: "Nightly restore",
          ticket: "INC-123456",
        }),
      );
      expect(errors).toEqual({});
    }
    const view = await d.openForm("frank");
    expect(inputs(view)).toEqual([]);
    expect(d.snapshot(view.view as { blocks: Json[] }).text).toMatch(
      /Everything you can request is already active or pending: .+\. Use \/elevate extend for more time\./,
    );
  });

  it("turns the role picker into a type-ahead search beyond 100 roles", async () => {
    const config = loadFixture("slack.yaml");
    for (let i = 0; i < 120; i++) {
      config.roles.push({ ...config.roles[0]!, key: `app-${i}`, name: `App ${String(i).padStart(3, "0")} Operator` });
      config.assignments.push({
        principal: "alice",
        role: `app-${i}`,
        scope: "/",
        kind: "eligible",
        start: null,
        end: null,
        justification: null,
      });
    }
    await applyConfig(w.deps, config);
    const form = await d.openForm("alice");
    const roles = inputs(form)[0]!.element as Json;
    expect(roles.type).toBe("multi_external_select");
    const answer = await w.slack.suggest("U0ALICE", form, "roles", "app 11");
    const labels = ((answer.json!.options as Json[]) ?? []).map((o) => (o.text as Json).text);
    expect(labels).toEqual([
      "App 110 Operator",
      "App 111 Operator",
      "App 112 Operator",
      "App 113 Operator",
      "App 114 Operator",
      "App 115 Operator",
      "App 116 Operator",
      "App 117 Operator",
      "App 118 Operator",
      "App 119 Operator",
    ]);
    const all = await w.slack.suggest("U0ALICE", form, "roles", "");
    expect((all.json!.options as Json[]).length).toBe(100);
    const app7 = await w.engine.role("app-7");
    await d.pickRoles("alice", form, [app7]);
    expect(
      await d.submitted(await w.slack.submit("U0ALICE", form, { roles: { options: [app7] }, justification: "Deploy" })),
    ).toEqual({});
  });
});
