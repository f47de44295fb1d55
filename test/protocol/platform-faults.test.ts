/**
 * Slack's Web API and the Bot Connector refuse calls now and then: 429 when the bot sends too
 * fast, 5xx when the service has a bad moment. The bot retries, honouring Retry-After, and the
 * person's card arrives all the same.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld } from "../support/teams/teams-world.js";

const ask = { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" };

describeEachDatabase("Slack's Web API failing for a moment", (driver) => {
  let w: SlackWorld;
  beforeEach(async () => {
    w = await startSlackWorld(driver);
  });
  afterEach(() => w.dispose());

  it.each([500, 502, 503] as const)("retries chat.postMessage answered %i, and delivers the cards", async (status) => {
    const d = slackScenarioWorld(w).driver;
    w.api.serverError("chat.postMessage", status, 2);
    expect(await d.request("alice", ask)).toEqual({});
    const posts = w.api.callsOf("chat.postMessage");
    expect(posts.slice(0, 2).map((p) => p.status)).toEqual([status, status]);
    expect(posts.slice(2).every((p) => p.status === 200)).toBe(true);
    expect((await d.card("alice", "requester"))!.text).toContain("Waiting for approval");
    expect((await d.card("bob", "approver"))!.buttons).toEqual(["Approve", "Deny"]);
  });
});

describeEachDatabase("The Bot Connector throttling or busy", (driver) => {
  let w: TeamsWorld;
  beforeEach(async () => {
    w = await startTeamsWorld(driver);
  });
  afterEach(() => w.dispose());

  const cases = [
    { name: "429 with Retry-After", status: 429, retryAfter: 1 },
    { name: "503", status: 503 },
  ] as const;
  it.each(cases)("retries messages refused with $name, and delivers the cards", async ({ status, ...rest }) => {
    const d = teamsScenarioWorld(w).driver;
    w.connector.refuseNext(status, 2, "retryAfter" in rest ? rest.retryAfter : undefined);
    expect(await d.request("alice", ask)).toEqual({});
    const refused = w.connector.calls.filter((c) => c.status === status);
    expect(refused).toHaveLength(2);
    expect((await d.card("bob", "approver"))!.buttons).toEqual(["Approve", "Deny"]);
    expect((await d.card("alice", "requester"))!.text).toContain("Waiting for approval");
  });
});
