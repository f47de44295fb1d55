/**
 * How much Slack traffic a cluster holds, and how that scales from one replica to three.
 *
 * Replicas are real bot processes (`src/main.ts`) on one fresh database of the PostgreSQL server
 * (`BENCH_DATABASE_URL`), all posting to one local Slack Web API stand-in and granting through a
 * signed webhook to a local receiver. People ask for a role at a rising rate: each one sends
 * `/elevate <role>`, submits the request form once a replica has drawn it, and the role's approver
 * clicks Approve once the card is posted — three signed posts to `POST /slack/events`, spread
 * round-robin over the replicas. Each step holds a rate of posts per second for `BENCH_STEP_SECONDS`;
 * the rate doubles until a step misses either limit:
 *
 * - ack p99 ≤ 100 ms (every post, counted from when it was due for commands — open loop — and
 *   from when it was sent for submits and clicks, which wait on the bot's own work);
 * - click-to-grant p99 ≤ 1 s (the Approve click sent → the grant call received by the target).
 *
 * Between steps every active role is ended (its end moved to now, the replicas' expiry revokes
 * it) so the same people can ask again. The whole ramp runs on three replicas, then on one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { Cluster, throwawayDatabase } from "../test/cluster/support/cluster.js";
import { poll } from "../test/cluster/support/crowd.js";
import { crowdPolicy, type Person, WEBHOOK_SECRET_ENV } from "../test/cluster/support/policy.js";
import { BOT_TOKEN, SlackApiStandIn, type StoredMessage, type StoredView } from "../test/support/slack/slack-api.js";
import { type Sent, SIGNING_SECRET, SlackSender } from "../test/support/slack/slack-sender.js";
import { WebhookReceiver } from "../test/support/webhook-receiver.js";
import { percentile, writeResult } from "./lib/report.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 10);
const FIRST_RATE = Number(process.env.BENCH_FIRST_RATE ?? 5);
const WARMUP_RATE = 6;
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 640);
const USERS = Number(process.env.BENCH_USERS ?? 1200);
const ACK_P99_LIMIT_MS = 100;
const GRANT_P99_LIMIT_MS = 1_000;
/** A person's journey that has not ended this long after its step counts as failed. */
const JOURNEY_LIMIT_MS = 15_000;
const SECRET = "whsec-bench-load";

type Json = Record<string, unknown>;

interface Step {
  rate: number;
  people: number;
  posts: number;
  unanswered: number;
  notGranted: number;
  ackP50Ms: number;
  ackP99Ms: number;
  clickToGrantP50Ms: number;
  clickToGrantP99Ms: number;
  held: boolean;
}

/**
 * Watches the stand-in for what people wait on — their form drawn, the approval card posted —
 * with one scan every few milliseconds for all of them, instead of one poll each.
 */
class Watcher {
  private readonly forms = new Map<string, { before: Set<string>; done: (v: StoredView) => void }>();
  private readonly cards = new Map<string, (m: StoredMessage) => void>();
  /** Requesters waiting for their request's card, by DM channel. */
  private readonly requests = new Map<string, (requestId: string) => void>();
  /** Approval cards seen, by request id. */
  private readonly seenCards = new Map<string, StoredMessage>();
  private scanned = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly api: SlackApiStandIn) {
    this.timer = setInterval(() => this.scan(), 5);
  }

  form(user: string): { wait: Promise<StoredView> } {
    const before = new Set([...this.api.views.values()].filter((v) => v.user === user).map((v) => v.id));
    return { wait: new Promise((done) => this.forms.set(user, { before, done })) };
  }

  card(requestId: string): Promise<StoredMessage> {
    const seen = this.seenCards.get(requestId);
    if (seen) return Promise.resolve(seen);
    return new Promise((done) => this.cards.set(requestId, done));
  }

  /** The id of the next request whose card is posted in a requester's DM. */
  request(channel: string): Promise<string> {
    return new Promise((done) => this.requests.set(channel, done));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private scan(): void {
    if (this.forms.size > 0) {
      for (const view of this.api.views.values()) {
        const waiting = this.forms.get(view.user);
        if (!waiting || waiting.before.has(view.id)) continue;
        if (((view.view.blocks as Json[]) ?? []).some((b) => b.block_id === "roles")) {
          this.forms.delete(view.user);
          waiting.done(view);
        }
      }
    }
    const messages = this.api.messages;
    for (; this.scanned < messages.length; this.scanned++) {
      const message = messages[this.scanned]!;
      for (const block of message.blocks) {
        if (block.type !== "actions") continue;
        for (const e of block.elements as Json[]) {
          if (e.action_id === "pim.cancel") {
            this.requests.get(message.channel)?.(String(e.value));
            this.requests.delete(message.channel);
          }
          if (!String(e.action_id).startsWith("pim.approve")) continue;
          const requestId = String(e.value);
          this.seenCards.set(requestId, message);
          this.cards.get(requestId)?.(message);
          this.cards.delete(requestId);
        }
      }
    }
  }
}

async function main() {
  const receiver = await new WebhookReceiver(SECRET).start();
  const granted = new Map<string, (at: number) => void>();
  receiver.answer((d) => {
    // One request at a time per person: the grant is theirs.
    if (d.verified && d.event.type === "grant") granted.get(d.event.principal)?.(performance.now());
    return { status: d.verified ? 200 : 401 };
  });
  const policy = crowdPolicy({ users: USERS, approvers: 30, roles: 10, webhookUrl: receiver.url });
  const dir = mkdtempSync(join(tmpdir(), "pim-bench-load-"));
  writeFileSync(join(dir, "pim.yaml"), policy.yaml);

  const runs: Record<string, unknown>[] = [];
  for (const replicas of [3, 1]) {
    const api = await new SlackApiStandIn().start();
    for (const p of [...policy.users, ...policy.approvers])
      api.addUser({ id: p.slackId, name: p.name, email: p.email });
    const database = await throwawayDatabase(SERVER_URL, "pim_bench_load");
    const sql = postgres(database.url, { max: 2, onnotice: () => {} });
    console.log(`${replicas} replica(s): starting`);
    const cluster = await Cluster.start(replicas, {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: "10",
      PIM_CONFIG: join(dir, "pim.yaml"),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: api.apiUrl,
      [WEBHOOK_SECRET_ENV]: SECRET,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    });
    const watcher = new Watcher(api);
    const steps: Step[] = [];
    try {
      // Warm-up, not recorded: each replica compiles and caches what a request needs on its first ones.
      await runStep(WARMUP_RATE, cluster, api, watcher, policy.users, policy.roleOf, policy.approversOf, granted);
      await endAll(sql);
      for (let rate = FIRST_RATE; rate <= MAX_RATE; rate *= 2) {
        const step = await runStep(
          rate,
          cluster,
          api,
          watcher,
          policy.users,
          policy.roleOf,
          policy.approversOf,
          granted,
        );
        steps.push(step);
        console.log(
          `  ${rate}/s: ack p50 ${step.ackP50Ms} ms p99 ${step.ackP99Ms} ms · click→grant p50 ${step.clickToGrantP50Ms} ms p99 ${step.clickToGrantP99Ms} ms · ${step.people} people, ${step.notGranted} not granted, ${step.unanswered} unanswered${step.held ? "" : " · NOT HELD"}`,
        );
        if (!step.held) break;
        await endAll(sql);
      }
      const peaks = cluster.peakRss();
      const held = steps.filter((s) => s.held).at(-1)?.rate ?? 0;
      runs.push({
        replicas,
        highestRateHeld: held,
        peakRssMB: Object.fromEntries(Object.entries(peaks).map(([name, bytes]) => [name, mb(bytes)])),
        steps,
      });
      console.log(`  highest rate held: ${held}/s; peak RSS ${Object.values(peaks).map(mb).join(", ")} MB`);
    } finally {
      watcher.stop();
      await cluster.stop();
      await sql.end();
      await database.drop();
      await api.stop();
    }
  }
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });

  const [three, one] = runs as { highestRateHeld: number }[];
  const ratio =
    one!.highestRateHeld > 0 ? Math.round((three!.highestRateHeld / one!.highestRateHeld) * 100) / 100 : null;
  const file = await writeResult("load", {
    database: "postgres (BENCH_DATABASE_URL), a fresh database per run",
    limits: { ackP99Ms: ACK_P99_LIMIT_MS, clickToGrantP99Ms: GRANT_P99_LIMIT_MS },
    stepSeconds: STEP_SECONDS,
    mix: "per person: /elevate <role>, the request form's submission, the approver's Approve click",
    scalingRatio: ratio,
    runs,
  });
  console.log(
    `scaling: ${three!.highestRateHeld}/s on three replicas ÷ ${one!.highestRateHeld}/s on one = ${ratio}; written to ${file}`,
  );
}

/** One step: people start at `rate / 3` a second (three posts each), for STEP_SECONDS. */
async function runStep(
  rate: number,
  cluster: Cluster,
  api: SlackApiStandIn,
  watcher: Watcher,
  users: Person[],
  roleOf: (p: Person) => string,
  approversOf: Map<string, Person[]>,
  /** Waiting for a person's grant, by principal key. */
  granted: Map<string, (at: number) => void>,
): Promise<Step> {
  const senders = new Map<string, SlackSender>();
  const sender = () => {
    const url = cluster.nextSlackUrl();
    const known = senders.get(url);
    if (known) return known;
    const s = new SlackSender(url, api);
    senders.set(url, s);
    return s;
  };
  const acks: number[] = [];
  const clickToGrant: number[] = [];
  let unanswered = 0;
  let notGranted = 0;
  let posts = 0;
  const post = async (act: (s: SlackSender) => Promise<Sent>, from = performance.now()): Promise<Sent | undefined> => {
    posts++;
    try {
      const sent = await act(sender());
      acks.push(performance.now() - from);
      return sent.status === 200 ? sent : undefined;
    } catch {
      unanswered++;
      return undefined;
    }
  };

  async function journey(person: Person, due: number): Promise<void> {
    const role = roleOf(person);
    const form = watcher.form(person.slackId);
    if (!(await post((s) => s.command(person.slackId, role), due))) return;
    const drawn = await within(form.wait, JOURNEY_LIMIT_MS);
    if (!drawn) return void notGranted++;
    const requested = watcher.request(api.dmChannel(person.slackId));
    const submitted = await post((s) => s.submit(person.slackId, drawn, { justification: "load" }));
    if (!submitted || submitted.json?.errors) return void notGranted++;
    const requestId = await within(requested, JOURNEY_LIMIT_MS);
    const card = requestId && (await within(watcher.card(requestId), JOURNEY_LIMIT_MS));
    if (!card) return void notGranted++;
    const grantedAt = new Promise<number>((done) => granted.set(person.key, done));
    const approver = approversOf.get(role)![0]!;
    const clickedAt = performance.now();
    if (!(await post((s) => s.clickInMessage(approver.slackId, card, "pim.approve")))) return void notGranted++;
    const at = await within(grantedAt, JOURNEY_LIMIT_MS);
    granted.delete(person.key);
    if (at === undefined) return void notGranted++;
    clickToGrant.push(at - clickedAt);
  }

  const people = Math.min(users.length, Math.round((rate / 3) * STEP_SECONDS));
  const start = performance.now() + 100;
  const journeys: Promise<void>[] = [];
  for (let i = 0; i < people; i++) {
    const due = start + (i * 3_000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    journeys.push(journey(users[i]!, due));
  }
  await Promise.all(journeys);
  const round = (x: number) => Math.round(x * 10) / 10;
  const ackP99 = percentile(acks, 99);
  const grantP99 = percentile(clickToGrant, 99);
  return {
    rate,
    people,
    posts,
    unanswered,
    notGranted,
    ackP50Ms: round(percentile(acks, 50)),
    ackP99Ms: round(ackP99),
    clickToGrantP50Ms: round(percentile(clickToGrant, 50)),
    clickToGrantP99Ms: round(grantP99),
    held: unanswered === 0 && notGranted === 0 && ackP99 <= ACK_P99_LIMIT_MS && grantP99 <= GRANT_P99_LIMIT_MS,
  };
}

/** Ends every active role (its end moved to now) and waits until the replicas have revoked them all. */
async function endAll(sql: postgres.Sql): Promise<void> {
  const done = await poll(
    async () => {
      // Again on every look: a grant still being confirmed makes its activation active only now.
      await sql`update activations set ends_at = now() where status = 'active' and ends_at > now()`;
      const [row] = await sql<{ n: number }[]>`
      select (select count(*) from activations where status not in ('ended', 'denied', 'canceled', 'timed_out', 'failed'))::int
           + (select count(*) from outbox_jobs where status = 'pending')::int as n`;
      return row!.n === 0 ? true : undefined;
    },
    60_000,
    250,
  );
  if (!done) throw new Error("the replicas did not end every role within a minute");
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

await main();
