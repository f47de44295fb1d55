/**
 * One id from the click to the target call: the HTTP request id of an Approve click is carried in
 * the grant job it leads to, in the worker's log line for the call, and in the connector's audit
 * event; work nobody asked for over HTTP (an expiry found by the sweep) carries none.
 */
import { and, eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld } from "../support/teams/teams-world.js";

const ask = { roles: ["db-admin"], duration: "1h", justification: "Fix the index", ticket: "INC-123456" };

async function traced(w: SlackWorld | TeamsWorld, kind: "grant" | "revoke") {
  const jobs = await w.deps.db
    .select()
    .from(outboxJobs)
    .where(and(eq(outboxJobs.kind, kind)));
  const audited = await queryAudit(w.deps.db, { event: `connector.${kind}.succeeded` });
  return {
    jobs: jobs.map((j) => (j.payload as { httpRequestId?: string }).httpRequestId ?? null),
    audited: audited.map((a) => (a.data as { httpRequestId?: string } | null)?.httpRequestId ?? null),
  };
}

describeEachDatabase("a click's request id, followed to the target", (driver) => {
  let w: SlackWorld | TeamsWorld | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it("on Slack: the Approve click's id is in the grant job and its audit event; the expiry's revoke has none", async () => {
    const slack = await startSlackWorld(driver);
    w = slack;
    const scenario = slackScenarioWorld(slack);
    await slack.runJobs();
    const before = await traced(slack, "grant");
    expect(await scenario.driver.request("alice", ask)).toEqual({});
    const card = (await slack.card("bob", "approver"))!;
    const click = await slack.slack.clickInMessage("U0BOB", card, "pim.approve");
    expect(click.requestId).toMatch(/^[0-9a-f]{12}$/);
    await slack.runJobs();
    const after = await traced(slack, "grant");
    expect(after.jobs.slice(before.jobs.length)).toEqual([click.requestId]);
    expect(after.audited.slice(before.audited.length)).toEqual([click.requestId]);

    await scenario.wait(HOUR + MINUTE);
    expect((await traced(slack, "revoke")).audited.at(-1)).toBeNull();
  });

  it("on Teams: the grant job and its audit event name the same request", async () => {
    const teams = await startTeamsWorld(driver);
    w = teams;
    const scenario = teamsScenarioWorld(teams);
    await teams.runJobs();
    const before = await traced(teams, "grant");
    expect(await scenario.driver.request("alice", ask)).toEqual({});
    await scenario.driver.approve("bob");
    await teams.runJobs();
    const after = await traced(teams, "grant");
    const [id] = after.jobs.slice(before.jobs.length);
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(after.audited.slice(before.audited.length)).toEqual([id]);
  });
});
