import { afterEach, beforeEach, expect, it } from "vitest";
import { describeChat } from "../support/databases.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

describeChat("Slack: the alert channel", (driver) => {
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

  const channel = () => w.api.messagesIn("C0ALERTS").map((m) => d.snapshot(m));

  it("posts break-glass use at once, and the notice of a role marked notify", async () => {
    const dbAdmin = await w.engine.role("db-admin");
    const form = await d.pickRoles("glass", await d.openForm("glass"), [dbAdmin]);
    const errors = await d.submitted(
      await w.slack.submit("U0GLASS", form, {
        roles: { options: [dbAdmin] },
        justification: "Identity provider is down",
        ticket: "INC-999999",
      }),
    );
    expect(errors).toEqual({});
    await w.runJobs();
    const texts = channel()
      .map((c) => c.text)
      .join("\n---\n");
    expect(texts).toContain("Alert: Break-glass account used");
    expect(texts).toContain("Break Glass activated Database Administrator");
    expect(await slackScenarioWorld(w).held("glass", "db-admin")).toBe(true);
  });

  it("redraws an alert in place when someone acknowledges it", async () => {
    const dbAdmin = await w.engine.role("db-admin");
    const form = await d.pickRoles("glass", await d.openForm("glass"), [dbAdmin]);
    await w.slack.submit("U0GLASS", form, {
      roles: { options: [dbAdmin] },
      justification: "Identity provider is down",
      ticket: "INC-999999",
    });
    await w.runJobs();
    const message = w.api
      .messagesIn("C0ALERTS")
      .find((m) => d.snapshot(m).text.includes("Alert: Break-glass account used"));
    expect(d.snapshot(message!).buttons).toEqual(["Acknowledge"]);
    const posted = w.api.messagesIn("C0ALERTS").length;
    await w.slack.clickInMessage("U0ERIN", message!, "pim.alert.ack");
    await w.settle();
    expect(w.api.messagesIn("C0ALERTS")).toHaveLength(posted);
    const now = d.snapshot(message!);
    expect(now.text).toContain("acknowledged by Erin Eve");
    expect(now.buttons).toEqual([]);
  });
});
