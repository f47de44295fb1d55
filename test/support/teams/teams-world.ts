import { eq } from "drizzle-orm";
import pino from "pino";
import type { EngineDeps, EngineEvent } from "../../../src/app/context.js";
import { EventBus } from "../../../src/app/event-bus.js";
import type { TeamsAuthSettings } from "../../../src/chat/teams/adapter.js";
import type { TeamsHooks } from "../../../src/chat/teams/context.js";
import { TeamsPlatform } from "../../../src/chat/teams/platform.js";
import { ChatNotifier, type MfaLinkFor } from "../../../src/chat/views/notifier.js";
import { type ChatMessageKind, chatMessagesFor } from "../../../src/db/repos/chat-messages.js";
import { principals } from "../../../src/db/schema/principals.js";
import { HttpServer } from "../../../src/http/server.js";
import { OutboxWorker } from "../../../src/jobs/outbox-worker.js";
import type { DriverName } from "../../helpers/databases.js";
import { createEngine, type EngineHarness } from "../../helpers/engine.js";
import { BotConnectorStandIn, type StoredActivity } from "./connector.js";
import { TENANT_ID, TeamsSender, type TeamsUser } from "./teams-sender.js";

export const testLog = pino({ level: process.env.TEST_LOG ?? "silent" });

/**
 * People in the Teams tenant. Most carry the Entra id pim.yaml names; frank and grace are in
 * pim.yaml by email only (found through the member list); stranger is not in pim.yaml at all.
 */
export const TEAMS_PEOPLE: (TeamsUser & { email: string })[] = [
  {
    key: "alice",
    name: "Alice Adams",
    email: "alice@example.com",
    aadObjectId: "11111111-1111-4111-8111-111111111111",
  },
  { key: "bob", name: "Bob Brown", email: "bob@example.com", aadObjectId: "22222222-2222-4222-8222-222222222222" },
  { key: "carol", name: "Carol Chen", email: "carol@example.com", aadObjectId: "33333333-3333-4333-8333-333333333333" },
  { key: "dave", name: "Dave Dale", email: "dave@example.com", aadObjectId: "44444444-4444-4444-8444-444444444444" },
  { key: "erin", name: "Erin Eve", email: "erin@example.com", aadObjectId: "55555555-5555-4555-8555-555555555555" },
  { key: "frank", name: "Frank Fox", email: "frank@example.com", aadObjectId: "66666666-6666-4666-8666-666666666666" },
  {
    key: "grace",
    name: "Grace Green",
    email: "grace@example.com",
    aadObjectId: "77777777-7777-4777-8777-777777777777",
  },
  {
    key: "stranger",
    name: "Sam Stranger",
    email: "stranger@elsewhere.example",
    aadObjectId: "99999999-9999-4999-8999-999999999999",
  },
].map((p) => ({ ...p, id: `29:${p.key}` }));

export function teamsUser(key: string): TeamsUser {
  const p = TEAMS_PEOPLE.find((x) => x.key === key);
  if (!p) throw new Error(`no Teams user ${key}`);
  return p;
}

export interface TeamsWorld {
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

export interface TeamsWorldOptions {
  fixture?: string;
  auth?: Partial<TeamsAuthSettings> & { tenants?: string[] | null };
  hooks?: TeamsHooks;
  mfaLinkFor?: MfaLinkFor;
}

/** pim-bot's engine and Teams platform behind a real HTTP server, with the Bot Connector stood in locally. */
export async function startTeamsWorld(driver: DriverName, opts: TeamsWorldOptions = {}): Promise<TeamsWorld> {
  const engine = await createEngine(driver, opts.fixture ?? "slack.yaml");
  const connector = await new BotConnectorStandIn().start();
  for (const p of TEAMS_PEOPLE)
    connector.addMember({
      id: p.id,
      name: p.name,
      aadObjectId: p.aadObjectId,
      email: p.email,
      userPrincipalName: p.email,
    });
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
  const worker = new OutboxWorker(deps, engine.connectors, testLog, { workerId: "teams-test", random: () => 0.5 });
  const notifier = new ChatNotifier({ deps, log: testLog, mfaLinkFor: opts.mfaLinkFor });
  bus.subscribe(notifier.onEvent);
  const platform = new TeamsPlatform({
    deps,
    log: testLog,
    notifier,
    appId: null,
    defaultServiceUrl: connector.serviceUrl,
    tenants: [TENANT_ID],
    ...opts.auth,
    hooks: opts.hooks,
  });
  const http = new HttpServer(testLog);
  platform.mount(http);
  const port = await http.listen(0, "127.0.0.1");
  await platform.start();
  const endpoint = `http://127.0.0.1:${port}/api/messages`;
  const teams = new TeamsSender(endpoint, connector);

  const principalId = async (key: string) => {
    const [row] = await engine.handle.db.select({ id: principals.id }).from(principals).where(eq(principals.key, key));
    return row?.id;
  };
  return {
    engine,
    deps,
    connector,
    teams,
    notifier,
    worker,
    platform,
    events,
    endpoint,
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
      const rows = (await chatMessagesFor(engine.handle.db, "teams", subject)).filter(
        (r) => r.kind === kind && (user === null || r.principalId === pid),
      );
      const row = rows.at(-1);
      return row ? connector.message(row.conversationId, row.messageId) : undefined;
    },
    async dispose() {
      await platform.stop();
      await http.close();
      await connector.stop();
      await engine.dispose();
    },
  };
}
