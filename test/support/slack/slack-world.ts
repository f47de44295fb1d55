import { eq } from "drizzle-orm";
import pino from "pino";
import type { EngineDeps, EngineEvent } from "../../../src/app/context.js";
import { EventBus } from "../../../src/app/event-bus.js";
import type { SlackHooks } from "../../../src/chat/slack/context.js";
import { SlackPlatform } from "../../../src/chat/slack/platform.js";
import { ChatNotifier, type MfaLinkFor } from "../../../src/chat/views/notifier.js";
import { type ChatMessageKind, chatMessagesFor } from "../../../src/db/repos/chat-messages.js";
import { principals } from "../../../src/db/schema/principals.js";
import { HttpServer } from "../../../src/http/server.js";
import { OutboxWorker } from "../../../src/jobs/outbox-worker.js";
import type { DriverName } from "../../helpers/databases.js";
import { createEngine, type EngineHarness } from "../../helpers/engine.js";
import { BOT_TOKEN, SlackApiStandIn, type StoredMessage } from "./slack-api.js";
import { SIGNING_SECRET, SlackSender } from "./slack-sender.js";

/** Errors logged by pim-bot during a test; a world with any fails its test when disposed. */
const loggedErrors: string[] = [];
export const testLog = pino(
  { level: process.env.TEST_LOG ?? "error" },
  {
    write(line: string) {
      const entry = JSON.parse(line) as { level: number; msg: string; err?: { message?: string } };
      if (entry.level >= 50) loggedErrors.push(`${entry.msg}: ${entry.err?.message ?? ""}`);
      if (process.env.TEST_LOG) process.stderr.write(line);
    },
  },
);

/** People in the Slack workspace; stranger is in Slack but not in pim.yaml, grace only by email. */
export const SLACK_PEOPLE = [
  { key: "alice", id: "U0ALICE", name: "Alice Adams", email: "alice@example.com" },
  { key: "bob", id: "U0BOB", name: "Bob Brown", email: "bob@example.com" },
  { key: "carol", id: "U0CAROL", name: "Carol Chen", email: "carol@example.com" },
  { key: "dave", id: "U0DAVE", name: "Dave Dale", email: "dave@example.com" },
  { key: "erin", id: "U0ERIN", name: "Erin Eve", email: "erin@example.com" },
  { key: "frank", id: "U0FRANK", name: "Frank Fox", email: "frank@example.com" },
  { key: "glass", id: "U0GLASS", name: "Break Glass", email: "glass@example.com" },
  { key: "grace", id: "U0GRACE", name: "Grace Green", email: "grace@example.com" },
  { key: "stranger", id: "U0STRANGE", name: "Sam Stranger", email: "stranger@elsewhere.example" },
] as const;

export function slackIdOf(key: string): string {
  const p = SLACK_PEOPLE.find((x) => x.key === key);
  if (!p) throw new Error(`no Slack user ${key}`);
  return p.id;
}

export interface SlackWorld {
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

export interface SlackWorldOptions {
  fixture?: string;
  mfaLinkFor?: MfaLinkFor;
  hooks?: SlackHooks;
  /** Workspaces and organizations served; unset: the bot token's own workspace (T0PIM). */
  workspaces?: string[];
}

/** pim-bot's engine and Slack platform on a real HTTP server, with Slack's API stood in locally. */
export async function startSlackWorld(driver: DriverName, opts: SlackWorldOptions = {}): Promise<SlackWorld> {
  loggedErrors.length = 0;
  const engine = await createEngine(driver, opts.fixture ?? "slack.yaml");
  const api = await new SlackApiStandIn().start();
  for (const p of SLACK_PEOPLE) api.addUser({ id: p.id, name: p.name, email: p.email });
  const bus = new EventBus((error) => testLog.error({ err: error }, "listener failed"));
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
  const worker = new OutboxWorker(deps, engine.connectors, testLog, { workerId: "slack-test", random: () => 0.5 });
  const notifier = new ChatNotifier({ deps, log: testLog, mfaLinkFor: opts.mfaLinkFor });
  bus.subscribe(notifier.onEvent);
  const platform = new SlackPlatform({
    deps,
    log: testLog,
    notifier,
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    apiUrl: api.apiUrl,
    workspaces: opts.workspaces,
    hooks: { ...(opts.mfaLinkFor ? { mfaLinkFor: opts.mfaLinkFor } : {}), ...opts.hooks },
  });
  const http = new HttpServer(testLog);
  platform.mount(http);
  const port = await http.listen(0, "127.0.0.1");
  await platform.start();
  const slack = new SlackSender(`http://127.0.0.1:${port}/slack/events`, api);

  const principalId = async (key: string) => {
    const [row] = await engine.handle.db.select({ id: principals.id }).from(principals).where(eq(principals.key, key));
    return row?.id;
  };
  return {
    engine,
    deps,
    api,
    slack,
    notifier,
    worker,
    platform,
    events,
    settle: () => platform.idle(),
    async runJobs() {
      await platform.idle();
      await worker.drain();
      await platform.idle();
    },
    async card(user, kind, requestId) {
      const subject = requestId ?? [...events].reverse().find((e) => e.type === "request.changed")?.requestId;
      if (!subject) return undefined;
      const pid = user ? await principalId(user) : null;
      const rows = (await chatMessagesFor(engine.handle.db, "slack", subject)).filter(
        (r) => r.kind === kind && (user === null || r.principalId === pid),
      );
      const row = rows.at(-1);
      return row ? api.message(row.conversationId, row.messageId) : undefined;
    },
    async dispose() {
      await platform.stop();
      await http.close();
      await api.stop();
      await engine.dispose();
      const errors = loggedErrors.splice(0);
      if (errors.length > 0) throw new Error(`pim-bot logged errors:\n${errors.join("\n")}`);
    },
  };
}
