import { afterEach, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { describeChat } from "../support/databases.js";
import { eventually, type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

type Json = Record<string, unknown>;

describeChat("Slack: the home tab", (driver) => {
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

  async function home(user: string) {
    w.api.homes.delete(user);
    expect((await w.slack.homeOpened(user)).status).toBe(200);
    await w.settle();
    const view = await eventually(`${user}'s home tab`, () => w.api.homes.get(user));
    return { view, ...d.snapshot(view as { blocks: Json[] }) };
  }

  it("shows what I can activate, with an Activate button that opens the form with that role picked", async () => {
    const mine = await home("U0ALICE");
    expect(mine.text).toContain("Hello Alice Adams");
    expect(mine.text).toContain("You can activate");
    expect(mine.text).toContain("Database Administrator at /mg/prod\nup to 4h · approval · ticket like INC-123456");
    expect(mine.text).not.toContain("Dashboard");
    expect(mine.buttons).toContain("Activate Database Administrator");
    const before = new Set(w.api.views.keys());
    await w.slack.clickInView("U0ALICE", mine.view, "pim.activate", "Activate Database Administrator");
    await w.settle();
    const form = await eventually("the form", () =>
      [...w.api.views.values()].find((v) => !before.has(v.id) && v.versions.length > 0),
    );
    const roles = ((form.view.blocks as Json[])[0]!.element as Json).initial_options as Json[];
    expect(roles.map((o) => (o.text as Json).text)).toEqual(["Database Administrator"]);
  });

  it("shows my active roles with End now, which ends them and redraws the tab", async () => {
    await d.request("alice", { roles: ["db-admin"], duration: "2h", justification: "Fix", ticket: "INC-123456" });
    await d.approve("bob");
    await w.runJobs();
    const mine = await home("U0ALICE");
    expect(mine.text).toContain("Your access now");
    expect(mine.text).toContain("Database Administrator at /mg/prod — active until 11:00 UTC (2h left)");
    w.api.homes.delete("U0ALICE");
    await w.slack.clickInView("U0ALICE", mine.view, "pim.end");
    await w.runJobs();
    expect(d.snapshot(w.api.homes.get("U0ALICE") as { blocks: Json[] }).text).toContain("Ending it now");
    expect(await slackScenarioWorld(w).held("alice", "db-admin")).toBe(false);
  });

  it("shows an approver their queue, and an administrator the dashboard counts", async () => {
    await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" });
    const bobs = await home("U0BOB");
    expect(bobs.text).toContain("Waiting for your decision");
    expect(bobs.text).toContain("Alice Adams asks for Database Administrator at /mg/prod for 1h");
    const erins = await home("U0ERIN");
    expect(erins.text).toContain("Dashboard");
    expect(erins.text).toContain("Eligible assignments\n6");
    expect(erins.text).toContain("Permanent active\n0");
    expect(erins.text).toContain("Time-bound active\n1");
    expect(erins.text).toContain("Open alerts\n0");
    expect(erins.text).toContain("Reviews in progress\n0");
    expect(erins.text).toContain("Reader: 2 eligible · 0 permanent · 1 time-bound · 0 active now");
    expect(erins.text).toContain("Billing Reader: 1 eligible"); // Frank's starts next month, Dave's has ended
    await w.slack.clickInView("U0BOB", bobs.view, "pim.approve");
    await w.runJobs();
    expect(await slackScenarioWorld(w).held("alice", "db-admin")).toBe(true);
  });

  it("tells someone PIM does not know who to ask, and audits the visit", async () => {
    expect((await home("U0STRANGE")).text).toContain("I don't know who you are in PIM yet");
    expect((await queryAudit(w.deps.db, { event: "chat.identity_unknown" })).map((r) => r.data.attempted)).toEqual([
      "app_home_opened",
    ]);
  });
});
