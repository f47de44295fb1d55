/**
 * Teams latency through the real botbuilder adapter over HTTP, with the Bot Connector stood in
 * locally (test/support/teams), on PGlite or — when TEST_DATABASE_URL is set — the PostgreSQL server:
 *
 * 1. An approver's Approve click (invoke `adaptiveCard/action`) until the answer with the redrawn
 *    card arrives; against the anchor, a bare CloudAdapter whose bot answers every invoke with a
 *    fixed card at once.
 * 2. A `status` message until the bot's reply card has been posted to the connector; against a
 *    bare CloudAdapter that replies with one fixed card.
 *
 * Requests are sequential from this process; anchor and ours alternate in rounds, and the best
 * round is the figure (the machine is shared). Redraws of other cards are waited for between
 * clicks and are not in the figure.
 */
import {
  ActivityHandler,
  type AdaptiveCardInvokeResponse,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
} from "botbuilder";
import pino from "pino";
import { requestActivation } from "../src/app/activation/request.js";
import { CARD_CONTENT_TYPE } from "../src/chat/teams/cards.js";
import { activityHandler } from "../src/chat/teams/http-shim.js";
import { cardActivity } from "../src/chat/teams/surface.js";
import { compose } from "../src/compose.js";
import { chatMessagesFor } from "../src/db/repos/chat-messages.js";
import { HOUR } from "../src/domain/duration.js";
import { HttpServer } from "../src/http/server.js";
import { TEST_DATABASE_URL } from "../test/support/databases.js";
import { createHarness, parseConfig } from "../test/support/harness.js";
import { BotConnectorStandIn } from "../test/support/teams/connector.js";
import { cardOf, readCard } from "../test/support/teams/read-card.js";
import { TeamsSender, type TeamsUser } from "../test/support/teams/teams-sender.js";
import { percentile, writeResult } from "./lib/report.js";

const USERS = Number(process.env.BENCH_USERS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PER_ROUND = Math.floor(USERS / ROUNDS);
const log = pino({ level: "silent" });

const guid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
const user = (i: number): TeamsUser => ({ key: `u${i}`, id: `29:u${i}`, name: `User ${i}`, aadObjectId: guid(i) });
const boss: TeamsUser = { key: "boss", id: "29:boss", name: "Boss", aadObjectId: guid(999_999) };

function policy(): string {
  const users = Array.from(
    { length: USERS },
    (_, i) => `  - { key: u${i}, name: User ${i}, email: u${i}@example.com, teamsId: ${guid(i)} }`,
  ).join("\n");
  return `version: 1
users:
${users}
  - { key: boss, name: Boss, email: boss@example.com, teamsId: ${boss.aadObjectId} }
groups:
  - { key: crowd, name: Crowd, members: [${Array.from({ length: USERS }, (_, i) => `u${i}`).join(", ")}] }
  - { key: approvers, name: Approvers, members: [boss] }
defaults:
  activation: { maxDuration: 8h, requireMfa: false, requireJustification: false, approvers: [approvers] }
roles:
  - { key: app-admin, name: App Administrator, policy: { activation: { requireApproval: true } } }
assignments:
  - { principal: crowd, role: app-admin, kind: eligible }
`;
}

async function timed(run: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const { status } = await run();
  if (status !== 200) throw new Error(`answered ${status}`);
  return performance.now() - started;
}

const summary = (ms: number[]) => ({
  n: ms.length,
  p50: Math.round(percentile(ms, 50) * 100) / 100,
  p99: Math.round(percentile(ms, 99) * 100) / 100,
  mean: Math.round((ms.reduce((a, b) => a + b, 0) / ms.length) * 100) / 100,
});

/** The anchor: botbuilder and nothing else, answering at once. */
async function startBareBot(connector: BotConnectorStandIn) {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Approved." }] };
  class Bare extends ActivityHandler {
    constructor() {
      super();
      this.onMessage(async (turn, next) => {
        await turn.sendActivity(cardActivity(card, "Approved."));
        await next();
      });
    }
    protected override async onAdaptiveCardInvoke(): Promise<AdaptiveCardInvokeResponse> {
      return { statusCode: 200, type: CARD_CONTENT_TYPE, value: card };
    }
  }
  const bot = new Bare();
  const http = new HttpServer(log);
  http.route(
    "POST",
    "/api/messages",
    activityHandler(adapter, (turn) => bot.run(turn)),
  );
  const port = await http.listen(0, "127.0.0.1");
  return { http, sender: new TeamsSender(`http://127.0.0.1:${port}/api/messages`, connector) };
}

async function main(): Promise<void> {
  const driver = TEST_DATABASE_URL ? "postgres" : "pglite";
  const h = await createHarness(driver, parseConfig(policy()));
  const connector = await new BotConnectorStandIn().start();
  // The bot as main.ts builds it, on the harness's database, with the Bot Connector stood in.
  const bot = await compose(
    { HOST: "127.0.0.1", TEAMS_AUTH: "off" },
    {
      log,
      database: h.handle,
      policy: parseConfig(policy()),
      port: 0,
      teams: { defaultServiceUrl: connector.serviceUrl },
    },
  );
  const port = await bot.start({ jobs: false });
  const deps = bot.deps;
  const platform = { idle: () => bot.idle() };
  const ours = new TeamsSender(`http://127.0.0.1:${port}/api/messages`, connector);
  const bare = await startBareBot(connector);
  await ours.install(boss);

  const roleId = await h.role("app-admin");
  const requests: string[] = [];
  for (let i = 0; i < USERS; i++) {
    await ours.install(user(i));
    const made = await requestActivation(deps, {
      requesterId: await h.user(`u${i}`),
      roles: [{ roleId }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!made.ok) throw new Error(made.error.message);
    requests.push(made.value.requestId);
  }
  await platform.idle();
  const bossChat = ours.personal(boss);
  const cardFor = async (requestId: string) => {
    const row = (await chatMessagesFor(h.deps.db, "teams", requestId)).find((r) => r.kind === "approver")!;
    const message = connector.message(row.conversationId, row.messageId)!;
    const approve = readCard(cardOf(message.activity)!).buttons.find((b) => b.label === "Approve")!;
    return { id: message.id, data: approve.data, verb: approve.verb! };
  };

  const rounds: Record<string, number[]>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round: Record<string, number[]> = { anchorInvoke: [], approve: [], anchorMessage: [], status: [] };
    for (const requestId of requests.slice(r * PER_ROUND, (r + 1) * PER_ROUND)) {
      const card = await cardFor(requestId);
      round.anchorInvoke!.push(await timed(() => bare.sender.click(boss, bossChat, card.id, card.verb, card.data)));
      round.approve!.push(await timed(() => ours.click(boss, bossChat, card.id, card.verb, card.data)));
      await platform.idle();
      round.anchorMessage!.push(await timed(() => bare.sender.message(boss, "status")));
      round.status!.push(await timed(() => ours.message(user(requests.indexOf(requestId)), "status")));
    }
    rounds.push(round);
    console.log(
      `round ${r + 1}: ${Object.entries(round)
        .map(([k, v]) => `${k} p50 ${summary(v).p50} ms`)
        .join(", ")}`,
    );
  }
  const best = (key: string) => rounds.map((round) => summary(round[key]!)).sort((a, b) => a.p50 - b.p50)[0]!;
  const result = {
    driver,
    users: USERS,
    approve: best("approve"),
    anchorInvoke: best("anchorInvoke"),
    status: best("status"),
    anchorMessage: best("anchorMessage"),
    ratios: {
      approveP50: Math.round((best("approve").p50 / best("anchorInvoke").p50) * 10) / 10,
      statusP50: Math.round((best("status").p50 / best("anchorMessage").p50) * 10) / 10,
    },
    violations: connector.violations.length,
    rounds: rounds.map((round) => Object.fromEntries(Object.entries(round).map(([k, v]) => [k, summary(v)]))),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${await writeResult("teams", result)}`);
  await bot.stop();
  await bare.http.close();
  await connector.stop();
  await h.dispose();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
