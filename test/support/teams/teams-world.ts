import type { EngineEvent } from "../../../src/app/kernel/events.js";
import type { EngineDeps } from "../../../src/app/kernel/unit-of-work.js";
import type { ChatNotifier } from "../../../src/chat/notify/notifier.js";
import type { TeamsPlatform } from "../../../src/chat/teams/platform.js";
import type { Bot } from "../../../src/compose.js";
import type { ChatMessageKind } from "../../../src/db/repos/chat-messages.js";
import type { OutboxWorker } from "../../../src/jobs/outbox-worker.js";
import type { DriverName } from "../databases.js";
import type { EngineHarness } from "../engine.js";
import { startWorld, TEAMS_PEOPLE, type WorldOptions } from "../world.js";
import type { BotConnectorStandIn, StoredActivity } from "./connector.js";
import type { TeamsSender, TeamsUser } from "./teams-sender.js";

export { testLog } from "../test-log.js";
export { TEAMS_PEOPLE };

export function teamsUser(key: string): TeamsUser {
  const p = TEAMS_PEOPLE.find((x) => x.key === key);
  if (!p) throw new Error(`no Teams user ${key}`);
  return p;
}

export interface TeamsWorld {
  bot: Bot;
  engine: EngineHarness;
  deps: EngineDeps;
  connector: BotConnectorStandIn;
  teams: TeamsSender;
  notifier: ChatNotifier;
  worker: OutboxWorker;
  platform: TeamsPlatform;
  events: EngineEvent[];
  endpoint: string;
  /** Waits until every activity is handled and every card it changed is redrawn. */
  settle(): Promise<void>;
  runJobs(): Promise<void>;
  /** The Teams message that shows `kind` of the newest request to `user` (a key), from chat_messages. */
  card(user: string | null, kind: ChatMessageKind, requestId?: string): Promise<StoredActivity | undefined>;
  dispose(): Promise<void>;
}

export type TeamsWorldOptions = Omit<WorldOptions, "platforms">;

/** A Teams-only deployment of pim-bot, built by compose(), with the Bot Connector stood in locally. */
export async function startTeamsWorld(driver: DriverName, opts: TeamsWorldOptions = {}): Promise<TeamsWorld> {
  const w = await startWorld(driver, { ...opts, platforms: ["teams"] });
  return {
    bot: w.bot,
    engine: w.engine,
    deps: w.deps,
    connector: w.connector!,
    teams: w.teams!,
    notifier: w.bot.notifier,
    worker: w.bot.worker,
    platform: w.bot.teams!,
    events: w.events,
    endpoint: `http://127.0.0.1:${w.port}/api/messages`,
    settle: w.settle,
    runJobs: w.runJobs,
    card: (user, kind, requestId) => w.message("teams", user, kind, requestId) as Promise<StoredActivity | undefined>,
    dispose: w.dispose,
  };
}
