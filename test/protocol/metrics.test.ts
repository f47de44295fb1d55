/**
 * /metrics moves with what the bot does: a request and an approval on Slack or Teams, the grant,
 * a break-glass use (an alert), and the expiry and its revoke, each change read from the series a
 * Prometheus server would scrape. Run on a Slack-only and a Teams-only bot built by compose().
 */
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld } from "../support/teams/teams-world.js";
import type { ScenarioWorld } from "./scenarios.js";

const settings = { fixture: "deployments.yaml", env: { METRICS_AUTH: "off" } };

/** Every sample of the scrape, by its series and labels as Prometheus prints them. */
async function scrape(world: SlackWorld | TeamsWorld): Promise<Map<string, number>> {
  const { port } = world.bot.http.server.address() as AddressInfo;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(pim_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

const PLATFORMS = {
  slack: async () => {
    const world = await startSlackWorld(DRIVER.current, settings);
    return { world, scenario: slackScenarioWorld(world) };
  },
  teams: async () => {
    const world = await startTeamsWorld(DRIVER.current, settings);
    return { world, scenario: teamsScenarioWorld(world) };
  },
};
const DRIVER = { current: "pglite" as Parameters<typeof startSlackWorld>[0] };

for (const [platform, start] of Object.entries(PLATFORMS)) {
  describeEachDatabase(`/metrics on a ${platform} deployment`, (driver) => {
    let x: { world: SlackWorld | TeamsWorld; scenario: ScenarioWorld };
    beforeEach(async () => {
      DRIVER.current = driver;
      x = await start();
    });
    afterEach(() => x.world.dispose());

    it("counts chat requests, activations by state, the outbox backlog, grants, revokes, their lag, and alerts", async () => {
      const d = x.scenario.driver;
      await x.scenario.runJobs(); // what applying the policy queued
      const before = await scrape(x.world);
      /** How far a counter or histogram moved since the start of the scenario. */
      const moved = (now: Map<string, number>, series: string) => (now.get(series) ?? 0) - (before.get(series) ?? 0);
      expect(before.get(`pim_chat_requests_total{platform="${platform}",outcome="ok"}`) ?? 0).toBe(0);
      expect(before.get('pim_activations{state="active"}')).toBe(0);
      expect(before.get("pim_outbox_due_jobs")).toBe(0);

      const ask = {
        roles: ["db-admin"],
        duration: "2h",
        justification: "Restore the orders table",
        ticket: "INC-123456",
      };
      expect(await d.request("alice", ask)).toEqual({});
      const waiting = await scrape(x.world);
      expect(waiting.get('pim_activations{state="pending_approval"}')).toBe(1);
      expect(waiting.get(`pim_chat_requests_total{platform="${platform}",outcome="ok"}`)).toBeGreaterThan(0);
      expect(waiting.get(`pim_chat_ack_seconds_count{platform="${platform}"}`)).toBeGreaterThan(0);

      await d.approve("bob");
      x.world.engine.clock.advance(7_000);
      const approved = await scrape(x.world);
      expect(approved.get('pim_activations{state="activating"}')).toBe(1);
      expect(approved.get("pim_outbox_due_jobs")).toBe(1);
      expect(approved.get("pim_outbox_oldest_due_seconds")).toBeGreaterThanOrEqual(7);

      await x.scenario.runJobs();
      const granted = await scrape(x.world);
      expect(granted.get('pim_activations{state="active"}')).toBe(1);
      expect(granted.get("pim_outbox_due_jobs")).toBe(0);
      expect(moved(granted, 'pim_target_calls_total{kind="grant",outcome="ok"}')).toBe(1);
      expect(moved(granted, 'pim_target_call_seconds_count{kind="grant"}')).toBe(1);
      expect(moved(granted, "pim_grant_latency_seconds_count")).toBe(1);
      expect(moved(granted, "pim_grant_latency_seconds_sum")).toBeGreaterThanOrEqual(7);

      // A break-glass use opens an alert.
      const glass = { ...ask, roles: ["reader"], duration: "1h", ticket: "INC-999999" };
      expect(await d.request("glass", glass)).toEqual({});
      await x.scenario.runJobs();
      const alerted = await scrape(x.world);
      const open = ["low", "medium", "high"].map((s) => alerted.get(`pim_alerts_open{severity="${s}"}`) ?? 0);
      expect(open.reduce((a, b) => a + b)).toBeGreaterThan(0);

      // Both end; the sweep finds them a minute late, and their revokes count from the ends.
      x.world.engine.clock.advance(2 * HOUR + MINUTE);
      await x.world.bot.scheduler.expireNow();
      await x.scenario.runJobs();
      const ended = await scrape(x.world);
      expect(ended.get('pim_activations{state="active"}')).toBe(0);
      expect(moved(ended, 'pim_target_calls_total{kind="revoke",outcome="ok"}')).toBe(2);
      expect(moved(ended, "pim_revoke_lag_seconds_count")).toBe(2);
      expect(moved(ended, "pim_revoke_lag_seconds_sum")).toBeGreaterThanOrEqual(60);
    });
  });
}
