import type { DriverName } from "../databases.js";
import { teamsUser } from "../teams/teams-world.js";
import { loggedErrorsSoFar } from "../test-log.js";
import { startWorld } from "../world.js";

export const ALERT_CHANNEL = "C0ALERTS";
export const TEAMS_ALERT_CHANNEL = "19:alerts@thread.tacv2";

export interface ReviewWorldOptions {
  fixture?: string;
  /** Slack users left out of the stand-in (so they are reached on Teams). Default: dave. */
  notOnSlack?: string[];
}

/**
 * pim-bot with both chat platforms, built by compose() (Slack's Web API and the Bot Connector
 * stood in locally): the chat notifier, the delivery of alerts, reviews and notices, the event
 * listeners, and the reviews job driven by a manual clock.
 */
export async function startReviewWorld(driver: DriverName, opts: ReviewWorldOptions = {}) {
  const w = await startWorld(driver, {
    fixture: opts.fixture ?? "reviews.yaml",
    platforms: ["slack", "teams"],
    notOnSlack: opts.notOnSlack ?? ["dave"],
  });
  // The bot added to the security team's channel, so Teams alerts can be posted there.
  await w.teams!.installInTeam(teamsUser("erin"), TEAMS_ALERT_CHANNEL);
  return {
    engine: w.engine,
    deps: w.deps,
    clock: w.clock,
    db: w.engine.handle.db,
    events: w.events,
    /** Errors pim-bot logged so far (alerts, reviews or notices that failed). */
    get errors() {
      return loggedErrorsSoFar();
    },
    worker: w.bot.worker,
    notifier: w.bot.notifier,
    delivery: w.bot.delivery,
    triggers: w.bot.listeners.alerts,
    redraws: w.bot.listeners.reviews,
    job: w.bot.reviewsJob,
    slackApi: w.slackApi!,
    slack: w.slack!,
    connector: w.connector!,
    teams: w.teams!,
    port: w.port,
    settle: w.settle,
    runJobs: w.runJobs,
    principalId: w.principalId,
    dispose: w.dispose,
  };
}

export type ReviewWorld = Awaited<ReturnType<typeof startReviewWorld>>;
