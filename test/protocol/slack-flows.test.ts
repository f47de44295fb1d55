import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { runScenario, SCENARIOS } from "./scenarios.js";

/** The shared scenarios on Slack: real Bolt over HTTP, Slack's Web API stood in locally. */
describeEachDatabase("Slack: the product's flows", (driver) => {
  let w: SlackWorld;
  beforeEach(async () => {
    w = await startSlackWorld(driver);
  });
  afterEach(async () => {
    await w.dispose();
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      await runScenario(scenario, slackScenarioWorld(w));
      expect(w.api.violations, "every Block Kit payload within Slack's limits").toEqual([]);
    });
  }
});
