import { eq } from "drizzle-orm";
import type { EngineDeps, EngineEvent } from "../../../src/app/context.js";
import { AlertTriggers } from "../../../src/app/evaluate-alerts.js";
import { EventBus } from "../../../src/app/event-bus.js";
import { ActivityNotices } from "../../../src/app/notifications.js";
import { ReviewRedraws } from "../../../src/app/review-prompts.js";
import { SlackPlatform } from "../../../src/chat/slack/platform.js";
import { TeamsPlatform } from "../../../src/chat/teams/platform.js";
import { alertHooks } from "../../../src/chat/views/alert-hooks.js";
import { ChatDelivery } from "../../../src/chat/views/chat-delivery.js";
import { ChatNotifier } from "../../../src/chat/views/notifier.js";
import { principals } from "../../../src/db/schema/principals.js";
import { HttpServer } from "../../../src/http/server.js";
import { OutboxWorker } from "../../../src/jobs/outbox-worker.js";
import { ReviewsJob } from "../../../src/jobs/reviews-job.js";
import type { DriverName } from "../../helpers/databases.js";
import { createEngine, type EngineHarness } from "../../helpers/engine.js";
import { BOT_TOKEN, SlackApiStandIn } from "../slack/slack-api.js";
import { SIGNING_SECRET, SlackSender } from "../slack/slack-sender.js";
import { SLACK_PEOPLE, testLog } from "../slack/slack-world.js";
import { BotConnectorStandIn } from "../teams/connector.js";
import { TeamsSender } from "../teams/teams-sender.js";
import { TEAMS_PEOPLE, teamsUser } from "../teams/teams-world.js";

export const ALERT_CHANNEL = "C0ALERTS";
export const TEAMS_ALERT_CHANNEL = "19:alerts@thread.tacv2";

export interface ReviewWorldOptions {
  fixture?: string;
  /** Slack users left out of the stand-in (so they are reached on Teams). Default: dave. */
  notOnSlack?: string[];
}

/**
 * The engine with both chat platforms on one real HTTP server (Slack's Web API and the Bot
 * Connector stood in locally), wired as main.ts wires them: the chat notifier, the delivery of
 * alerts, reviews and notices, the event listeners, and the reviews job driven by a manual clock.
 */
export async function startReviewWorld(driver: DriverName, opts: ReviewWorldOptions = {}) {
  const engine: EngineHarness = await createEngine(driver, opts.fixture ?? "reviews.yaml");
  const notOnSlack = new Set(opts.notOnSlack ?? ["dave"]);
  const slackApi = await new SlackApiStandIn().start();
  for (const p of SLACK_PEOPLE)
    if (!notOnSlack.has(p.key)) slackApi.addUser({ id: p.id, name: p.name, email: p.email });
  const connector = await new BotConnectorStandIn().start();
  for (const p of TEAMS_PEOPLE)
    connector.addMember({
      id: p.id,
      name: p.name,
      aadObjectId: p.aadObjectId,
      email: p.email,
      userPrincipalName: p.email,
    });

  const errors: unknown[] = [];
  const onError = (error: unknown) => {
    errors.push(error);
    testLog.error({ err: error }, "listener failed");
  };
  const bus = new EventBus(onError);
  const events: EngineEvent[] = [];
  const deps: EngineDeps = {
    ...engine.deps,
    events: {
      publish: (e) => {
        events.push(e);
        bus.publish(e);
      },
    },
  };
  const worker = new OutboxWorker(deps, engine.connectors, testLog, { workerId: "reviews-test", random: () => 0.5 });
  const notifier = new ChatNotifier({ deps, log: testLog, postEngineAlerts: false });
  bus.subscribe(notifier.onEvent);
  const delivery = new ChatDelivery(notifier, deps, testLog);
  const triggers = new AlertTriggers(deps, delivery, onError);
  const redraws = new ReviewRedraws(deps, delivery, onError);
  const notices = new ActivityNotices(deps, delivery, onError);
  for (const l of [triggers, redraws, notices]) bus.subscribe(l.onEvent);
  const hooks = alertHooks(deps);

  const slack = new SlackPlatform({
    deps,
    log: testLog,
    notifier,
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    apiUrl: slackApi.apiUrl,
    hooks,
  });
  const teams = new TeamsPlatform({
    deps,
    log: testLog,
    notifier,
    appId: null,
    defaultServiceUrl: connector.serviceUrl,
    hooks,
  });
  const http = new HttpServer(testLog);
  slack.mount(http);
  teams.mount(http);
  const port = await http.listen(0, "127.0.0.1");
  await slack.start();
  await teams.start();
  const slackSender = new SlackSender(`http://127.0.0.1:${port}/slack/events`, slackApi);
  const teamsSender = new TeamsSender(`http://127.0.0.1:${port}/api/messages`, connector);
  // The bot added to the security team's channel, so Teams alerts can be posted there.
  await teamsSender.installInTeam(teamsUser("erin"), TEAMS_ALERT_CHANNEL);
  const job = new ReviewsJob(deps, delivery, testLog);

  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await teams.idle();
      await triggers.idle();
      await redraws.idle();
      await notices.idle();
      await notifier.idle();
    }
  };
  return {
    engine,
    deps,
    clock: engine.clock,
    db: engine.handle.db,
    events,
    errors,
    worker,
    notifier,
    delivery,
    triggers,
    redraws,
    job,
    slackApi,
    slack: slackSender,
    connector,
    teams: teamsSender,
    port,
    settle,
    async runJobs() {
      await settle();
      await worker.drain();
      await settle();
    },
    async principalId(key: string) {
      const [row] = await engine.handle.db
        .select({ id: principals.id })
        .from(principals)
        .where(eq(principals.key, key));
      if (!row) throw new Error(`no principal ${key}`);
      return row.id;
    },
    async dispose() {
      await settle();
      await slack.stop();
      await teams.stop();
      await http.close();
      await slackApi.stop();
      await connector.stop();
      await engine.dispose();
    },
  };
}

export type ReviewWorld = Awaited<ReturnType<typeof startReviewWorld>>;
