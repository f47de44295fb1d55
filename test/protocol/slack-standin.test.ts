import { webApi } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeChat } from "../support/databases.js";
import { BOT_TOKEN, SlackApiStandIn } from "../support/slack/slack-api.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

/** The stand-in must refuse what Slack refuses, or the protocol tests would prove nothing. */
describe("the Slack Web API stand-in", () => {
  let api: SlackApiStandIn;
  let client: webApi.WebClient;
  beforeAll(async () => {
    api = await new SlackApiStandIn().start();
    api.addUser({ id: "U0BOB", name: "Bob", email: "bob@example.com" });
    client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: api.apiUrl, retryConfig: { retries: 0 } });
  });
  afterAll(() => api.stop());

  const modal = { type: "modal" as const, title: { type: "plain_text" as const, text: "Hi" }, blocks: [] };
  const slackError = (e: unknown) => (e as { data?: { error?: string } }).data?.error;

  it("answers auth.test for the bot token and refuses any other", async () => {
    expect((await client.auth.test()).user_id).toBe("U0PIMBOT");
    const stranger = new webApi.WebClient("xoxb-wrong", { slackApiUrl: api.apiUrl, retryConfig: { retries: 0 } });
    await expect(stranger.auth.test()).rejects.toSatisfy((e) => slackError(e) === "invalid_auth");
  });

  it("takes a trigger id once, within 3 seconds", async () => {
    const trigger = api.mintTrigger("U0BOB");
    await client.views.open({ trigger_id: trigger, view: modal });
    await expect(client.views.open({ trigger_id: trigger, view: modal })).rejects.toSatisfy(
      (e) => slackError(e) === "exchanged_trigger_id",
    );
    await expect(client.views.open({ trigger_id: api.mintTrigger("U0BOB", 3_500), view: modal })).rejects.toSatisfy(
      (e) => slackError(e) === "expired_trigger_id",
    );
    await expect(client.views.open({ trigger_id: "made-up", view: modal })).rejects.toSatisfy(
      (e) => slackError(e) === "invalid_trigger_id",
    );
  });

  it("refuses blocks over Slack's limits with invalid_blocks, and records the violation", async () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: "divider" as const }));
    await expect(client.chat.postMessage({ channel: "D0BOB", text: "x", blocks })).rejects.toSatisfy(
      (e) => slackError(e) === "invalid_blocks",
    );
    expect(api.violations.at(-1)!.problems).toEqual(["/blocks: 51 blocks, at most 50 allowed in a message"]);
    api.violations.length = 0;
  });
});

describeChat("Slack rate limits", (driver) => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await startSlackWorld(driver);
  });
  afterAll(() => w.dispose());

  it("answers 429 with Retry-After when told to, and pim-bot waits and delivers the card anyway", async () => {
    const d = slackScenarioWorld(w).driver as SlackDriver;
    w.api.rateLimit("chat.postMessage", 1, 1);
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
    const posts = w.api.callsOf("chat.postMessage");
    expect(posts[0]!.status).toBe(429);
    expect(posts[1]!.status).toBe(200);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1_000);
    expect((await d.card("alice", "requester"))!.text).toContain("Waiting for approval");
    expect((await d.card("bob", "approver"))!.buttons).toEqual(["Approve", "Deny"]);
    expect(w.api.violations).toEqual([]);
  });
});
