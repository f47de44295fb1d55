import type { EngineEvent } from "../../../src/app/kernel/events.js";
import type { EngineDeps } from "../../../src/app/kernel/unit-of-work.js";
import type { ChatNotifier } from "../../../src/chat/notify/notifier.js";
import type { SlackPlatform } from "../../../src/chat/slack/platform.js";
import type { Bot } from "../../../src/compose.js";
import type { ChatMessageKind } from "../../../src/db/repos/chat-messages.js";
import type { OutboxWorker } from "../../../src/jobs/outbox-worker.js";
import type { DriverName } from "../databases.js";
import type { EngineHarness } from "../engine.js";
import { SLACK_PEOPLE, startWorld, type WorldOptions } from "../world.js";
import type { SlackApiStandIn, StoredMessage } from "./slack-api.js";
import type { SlackSender } from "./slack-sender.js";

export { testLog } from "../test-log.js";
export { SLACK_PEOPLE };

export function slackIdOf(key: string): string {
  const p = SLACK_PEOPLE.find((x) => x.key === key);
  if (!p) throw new Error(`no Slack user ${key}`);
  return p.id;
}

export interface SlackWorld {
  bot: Bot;
  engine: EngineHarness;
  deps: EngineDeps;
  api: SlackApiStandIn;
  slack: SlackSender;
  notifier: ChatNotifier;
  worker: OutboxWorker;
  platform: SlackPlatform;
  events: EngineEvent[];
  /** Waits until every chat redraw the last actions caused has been delivered. */
  settle(): Promise<void>;
  /** Runs due grant/revoke jobs, then lets chat catch up. */
  runJobs(): Promise<void>;
  /** The Slack message that shows `kind` of the newest request to `user` (a key), from the chat_messages table. */
  card(user: string | null, kind: ChatMessageKind, requestId?: string): Promise<StoredMessage | undefined>;
  dispose(): Promise<void>;
}

export type SlackWorldOptions = Omit<WorldOptions, "platforms">;

/** A Slack-only deployment of pim-bot, built by compose(), with Slack's Web API stood in locally. */
export async function startSlackWorld(driver: DriverName, opts: SlackWorldOptions = {}): Promise<SlackWorld> {
  const w = await startWorld(driver, { ...opts, platforms: ["slack"] });
  return {
    bot: w.bot,
    engine: w.engine,
    deps: w.deps,
    api: w.slackApi!,
    slack: w.slack!,
    notifier: w.bot.notifier,
    worker: w.bot.worker,
    platform: w.bot.slack!,
    events: w.events,
    settle: w.settle,
    runJobs: w.runJobs,
    card: (user, kind, requestId) => w.message("slack", user, kind, requestId) as Promise<StoredMessage | undefined>,
    dispose: w.dispose,
  };
}
