/**
 * Slack's Web API and the Bot Connector refuse calls now and then: 429 when the bot sends too
 * fast, 5xx when the service has a bad moment. The bot retries, honouring Retry-After, and the
 * person's card arrives all the same.
 */
import { inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cancelRequest } from "../../src/app/activation/end.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { activations } from "../../src/db/schema/activations.js";
import { slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld } from "../support/teams/teams-world.js";

/** Each case asks anew: what the last one asked is withdrawn. */
async function withdrawAll(deps: EngineDeps): Promise<void> {
  const open = await deps.db
    .select()
    .from(activations)
    .where(inArray(activations.status, ["pending_mfa", "pending_approval"]));
  for (const a of open) await cancelRequest(deps, a.requestId, a.principalId);
}

const ask = { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" };

// What is retried is the platform's answer, not the database's: one database is enough.
describe("Slack's Web API failing for a moment", () => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await startSlackWorld("pglite");
  });
  afterEach(async () => {
    await withdrawAll(w.deps);
    await w.settle();
  });
  afterAll(() => w.dispose());

  it.each([500, 503] as const)("retries chat.postMessage answered %i, and delivers the cards", async (status) => {
    const d = slackScenarioWorld(w).driver;
    const before = w.api.callsOf("chat.postMessage").length;
    w.api.serverError("chat.postMessage", status, 2);
    expect(await d.request("alice", ask)).toEqual({});
    const posts = w.api.callsOf("chat.postMessage").slice(before);
    expect(posts.slice(0, 2).map((p) => p.status)).toEqual([status, status]);
    expect(posts.slice(2).every((p) => p.status === 200)).toBe(true);
    expect((await d.card("alice", "requester"))!.text).toContain("Waiting for approval");
    expect((await d.card("bob", "approver"))!.buttons).toEqual(["Approve", "Deny"]);
  });
});

describe("The Bot Connector throttling or busy", () => {
  let w: TeamsWorld;
  beforeAll(async () => {
    w = await startTeamsWorld("pglite");
  });
  afterEach(async () => {
    await withdrawAll(w.deps);
    await w.settle();
  });
  afterAll(() => w.dispose());

  const cases = [
    { name: "429 with Retry-After", status: 429, retryAfter: 1 },
    { name: "503", status: 503 },
  ] as const;
  it.each(cases)("retries messages refused with $name, and delivers the cards", async ({ status, ...rest }) => {
    const d = teamsScenarioWorld(w).driver;
    const before = w.connector.calls.length;
    w.connector.refuseNext(status, 2, "retryAfter" in rest ? rest.retryAfter : undefined);
    expect(await d.request("alice", ask)).toEqual({});
    const refused = w.connector.calls.slice(before).filter((c) => c.status === status);
    expect(refused).toHaveLength(2);
    expect((await d.card("bob", "approver"))!.buttons).toEqual(["Approve", "Deny"]);
    expect((await d.card("alice", "requester"))!.text).toContain("Waiting for approval");
  });
});
