import { randomBytes } from "node:crypto";
import type { EngineEvent } from "../../src/app/kernel/events.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { type Bot, type ComposeOverrides, compose } from "../../src/compose.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import type { DbHandle } from "../../src/db/client.js";
import { type ChatMessageKind, chatMessagesFor } from "../../src/db/repos/chat-messages.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { ManualClock } from "./clock.js";
import { createTestDatabase, type DriverName, type TestDatabase } from "./databases.js";
import { type EngineHarness, idByKey } from "./engine.js";
import { BOT_TOKEN, SlackApiStandIn, type StoredMessage } from "./slack/slack-api.js";
import { SIGNING_SECRET, SlackSender } from "./slack/slack-sender.js";
import { BotConnectorStandIn, type StoredActivity } from "./teams/connector.js";
import { TENANT_ID, TeamsSender } from "./teams/teams-sender.js";
import { clearLoggedErrors, failOnLoggedErrors, testLog } from "./test-log.js";

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

/**
 * People in the Teams tenant. Most carry the Entra id pim.yaml names; frank and grace are in
 * pim.yaml by email only (found through the member list); stranger is not in pim.yaml at all.
 */
export const TEAMS_PEOPLE = [
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
    key: "glass",
    name: "Break Glass",
    email: "glass@example.com",
    aadObjectId: "88888888-8888-4888-8888-888888888888",
  },
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

export type Platform = "slack" | "teams";

export interface WorldOptions {
  /** A file in test/fixtures, read as PIM_CONFIG. Default slack.yaml. */
  fixture?: string;
  /** Which platforms the deployment has. Default: both. */
  platforms?: Platform[];
  /** Slack users left out of the Slack stand-in (so they are reached on Teams only). */
  notOnSlack?: string[];
  /** Teams people left out of the Bot Connector's member list. */
  notOnTeams?: string[];
  /** More settings, as the environment would give them. */
  env?: Record<string, string | undefined>;
  /** Teams with an app id: authentication settings and the token service stand-in. */
  teamsAuth?: { appId: string; appPassword: string; channelOpenIdMetadataUrl: string; channelTokenIssuer: string };
  overrides?: Pick<ComposeOverrides, "connectors" | "worker" | "recording">;
  /**
   * The bot's own connection to the test database, opened some other way (through a relay the
   * test can cut); the test itself keeps reading the database directly.
   */
  database?: (test: TestDatabase) => Promise<DbHandle>;
}

export interface World {
  bot: Bot;
  engine: EngineHarness;
  deps: EngineDeps;
  clock: ManualClock;
  events: EngineEvent[];
  port: number;
  slackApi: SlackApiStandIn | null;
  slack: SlackSender | null;
  connector: BotConnectorStandIn | null;
  teams: TeamsSender | null;
  /** Waits until every handler, listener and chat redraw the last actions caused has finished. */
  settle(): Promise<void>;
  /** Runs due grant/revoke jobs, then lets chat catch up. */
  runJobs(): Promise<void>;
  principalId(key: string): Promise<string>;
  /** The message that shows `kind` of the newest request to `user` (a key) on a platform, from chat_messages. */
  message(
    platform: Platform,
    user: string | null,
    kind: ChatMessageKind,
    requestId?: string,
  ): Promise<StoredMessage | StoredActivity | undefined>;
  /** Stops everything; fails when pim-bot logged an error during the test. */
  dispose(): Promise<void>;
}

/**
 * pim-bot built by compose(), as main.ts builds it, on a test database with a manual clock, with
 * Slack's Web API and the Bot Connector stood in locally. Background jobs do not run on their
 * own: tests run due jobs with runJobs().
 */
export async function startWorld(driver: DriverName, opts: WorldOptions = {}): Promise<World> {
  clearLoggedErrors();
  const platforms = opts.platforms ?? ["slack", "teams"];
  const handle: TestDatabase = await createTestDatabase(driver);
  const botDatabase = opts.database ? await opts.database(handle) : handle;
  const clock = new ManualClock();
  const events: EngineEvent[] = [];

  const slackApi = platforms.includes("slack") ? await new SlackApiStandIn().start() : null;
  const notOnSlack = new Set(opts.notOnSlack ?? []);
  for (const p of SLACK_PEOPLE)
    if (slackApi && !notOnSlack.has(p.key)) slackApi.addUser({ id: p.id, name: p.name, email: p.email });
  const connector = platforms.includes("teams") ? await new BotConnectorStandIn().start() : null;
  const notOnTeams = new Set(opts.notOnTeams ?? []);
  for (const p of TEAMS_PEOPLE)
    if (connector && !notOnTeams.has(p.key))
      connector.addMember({
        id: p.id,
        name: p.name,
        aadObjectId: p.aadObjectId,
        email: p.email,
        userPrincipalName: p.email,
      });

  const env: Record<string, string | undefined> = {
    HOST: "127.0.0.1",
    PIM_CONFIG: new URL(`../fixtures/${opts.fixture ?? "slack.yaml"}`, import.meta.url).pathname,
    PIM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ...(slackApi
      ? { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slackApi.apiUrl }
      : {}),
    ...(connector
      ? opts.teamsAuth
        ? { MICROSOFT_APP_ID: opts.teamsAuth.appId, MICROSOFT_APP_PASSWORD: opts.teamsAuth.appPassword }
        : { TEAMS_AUTH: "off" }
      : {}),
    ...(connector ? { TEAMS_ALLOWED_TENANTS: TENANT_ID } : {}),
    ...opts.env,
  };
  const bot = await compose(env, {
    clock,
    log: testLog,
    database: botDatabase,
    port: 0,
    connectors: (db) => new ConnectorRegistry(db),
    worker: { workerId: "test-worker", random: () => 0.5 },
    tap: (e) => events.push(e),
    ...(connector
      ? {
          teams: {
            defaultServiceUrl: connector.serviceUrl,
            ...(opts.teamsAuth
              ? {
                  channelOpenIdMetadataUrl: opts.teamsAuth.channelOpenIdMetadataUrl,
                  channelTokenIssuer: opts.teamsAuth.channelTokenIssuer,
                }
              : {}),
          },
        }
      : {}),
    ...opts.overrides,
  });
  const port = await bot.start({ jobs: false });
  const slack = slackApi ? new SlackSender(`http://127.0.0.1:${port}/slack/events`, slackApi) : null;
  const teams = connector ? new TeamsSender(`http://127.0.0.1:${port}/api/messages`, connector) : null;

  const idOf = (table: typeof principals | typeof roles, key: string) => idByKey(handle.db, table, key);
  const engine: EngineHarness = {
    handle,
    deps: bot.deps,
    clock,
    events,
    connectors: bot.connectors,
    worker: bot.worker,
    user: (key) => idOf(principals, key),
    role: (key) => idOf(roles, key),
    dispose: () => handle.dispose(),
  };
  return {
    bot,
    engine,
    deps: bot.deps,
    clock,
    events,
    port,
    slackApi,
    slack,
    connector,
    teams,
    settle: () => bot.idle(),
    async runJobs() {
      await bot.idle();
      await bot.worker.drain();
      await bot.idle();
    },
    principalId: (key) => idOf(principals, key),
    async message(platform, user, kind, requestId) {
      const subject = requestId ?? [...events].reverse().find((e) => e.type === "request.changed")?.requestId;
      if (!subject) return undefined;
      const pid = user ? await idOf(principals, user) : null;
      const rows = (await chatMessagesFor(handle.db, platform, subject)).filter(
        (r) => r.kind === kind && (user === null || r.principalId === pid),
      );
      const row = rows.at(-1);
      if (!row) return undefined;
      return platform === "slack"
        ? slackApi?.message(row.conversationId, row.messageId)
        : connector?.message(row.conversationId, row.messageId);
    },
    async dispose() {
      await bot.stop();
      await slackApi?.stop();
      await connector?.stop();
      if (botDatabase !== handle) await botDatabase.close();
      await handle.dispose();
      failOnLoggedErrors();
    },
  };
}
