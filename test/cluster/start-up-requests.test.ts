/**
 * A replica is in the load balancer's rotation from the moment it listens, and a restarted one
 * gets traffic at once: a Slack request that arrives while Slack is still being initialized (its
 * bot token checked with auth.test) waits for it and is answered, instead of failing in Bolt.
 */
import { afterEach, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { createTestDatabase, type TestDatabase } from "../support/databases.js";
import { freePort } from "../support/free-port.js";
import { BOT_TOKEN, SlackApiStandIn } from "../support/slack/slack-api.js";
import { SIGNING_SECRET, SlackSender } from "../support/slack/slack-sender.js";
import { loggedErrorLines, testLog } from "../support/test-log.js";

let api: SlackApiStandIn | undefined;
let db: TestDatabase | undefined;
let stop: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stop?.();
  await db?.dispose();
  await api?.stop();
});

it("a Slack request reaching a replica before Slack is initialized is answered once it is", async () => {
  api = await new SlackApiStandIn().start();
  api.addUser({ id: "U0ALICE", name: "Alice Adams", email: "alice@example.com" });
  // Slack asks the bot to wait a second before its token is checked: start-up is held there.
  api.rateLimit("auth.test", 1);
  db = await createTestDatabase("pglite");
  const port = await freePort();
  const bot = await compose(
    {
      HOST: "127.0.0.1",
      PIM_CONFIG: new URL("../fixtures/slack.yaml", import.meta.url).pathname,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: api.apiUrl,
    },
    { log: testLog, database: db, port },
  );
  stop = () => bot.stop();
  const starting = bot.start({ jobs: false });

  const listening = async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200;
  const deadline = Date.now() + 10_000;
  while (!(await listening())) {
    if (Date.now() > deadline) throw new Error("the bot never listened");
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(api.callsOf("auth.test").filter((c) => c.status === 200)).toEqual([]);

  const sent = await new SlackSender(`http://127.0.0.1:${port}/slack/events`, api).command("U0ALICE", "help");
  const answeredAt = Date.now();
  expect(sent.status).toBe(200);
  expect(JSON.stringify(sent.json)).toContain("/elevate");
  // Answered once the token was checked, which start-up had to wait for.
  const checked = api.callsOf("auth.test").find((c) => c.status === 200);
  expect(checked!.at).toBeLessThanOrEqual(answeredAt);
  await starting;
  expect(loggedErrorLines()).toEqual([]);
});
