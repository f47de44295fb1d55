import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld } from "../support/teams/teams-world.js";
import { runScenario, SCENARIOS } from "./scenarios.js";

/** The shared scenarios on Teams: real botbuilder over HTTP, the Bot Connector stood in locally. */
describeEachDatabase("Teams: the product's flows", (driver) => {
  let w: TeamsWorld;
  beforeEach(async () => {
    w = await startTeamsWorld(driver);
  });
  afterEach(async () => {
    await w.dispose();
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      await runScenario(scenario, teamsScenarioWorld(w));
      expect(w.connector.violations, "every card valid and within Teams' limits").toEqual([]);
    });
  }
});
