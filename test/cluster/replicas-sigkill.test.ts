/**
 * Three replicas of the bot (real `src/main.ts` processes) on one PostgreSQL database, behind the
 * Slack HTTP endpoint, all posting to one Slack Web API stand-in and granting through one signed
 * webhook. 300 people ask for a role and 30 approvers decide, spread over the replicas; halfway
 * through one replica is SIGKILLed, the other two carry on, and it is started again.
 *
 * What is accepted from a request sent to the replica as it died: no answer at all (the person
 * tries again, as they would after Slack's error), a form that never replaced its loading modal,
 * an approval card that was never posted (the approver finds the request with `/elevate pending`),
 * a click acknowledged but not recorded (the approver clicks again). What is not accepted: a
 * request that exists in part, a grant or revoke run twice in effect or not at all, work left in
 * the outbox, an activation stuck between states, or an audit log that does not verify.
 *
 * Activations cannot be shorter than 5 minutes (the policy's floor), so half of them are ended
 * early by their holders with `/elevate end`, and for the other half the test moves `ends_at` to a
 * second from now, as if the time had passed: the replicas' expiry sweeps then revoke them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { BOT_TOKEN, SlackApiStandIn } from "../support/slack/slack-api.js";
import { SIGNING_SECRET } from "../support/slack/slack-sender.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { Cluster, throwawayDatabase } from "./support/cluster.js";
import { type ActivationRow, poll, SlackCrowd } from "./support/crowd.js";
import { crowdPolicy, type Person, WEBHOOK_SECRET_ENV } from "./support/policy.js";

const TITLE = "three replicas under a SIGKILL";
const USERS = 300;
const APPROVERS = 30;
const ROLES = 10;
/** People going through their request at once. */
const IN_FLIGHT = 24;
/** The replica is killed once this many requests are in, and started again once this many are. */
const KILL_AT = 100;
const RESTART_AT = 170;
const SECRET = "whsec-cluster-test";

if (!TEST_DATABASE_URL) {
  if (process.env.PIM_CI)
    throw new Error(`CI must run every suite, but "${TITLE}" would skip: TEST_DATABASE_URL is not set`);
  console.log(`[skip] ${TITLE}: TEST_DATABASE_URL is not set (it needs a PostgreSQL server)`);
}

describe.skipIf(!TEST_DATABASE_URL)(TEST_DATABASE_URL ? TITLE : `${TITLE} (skipped: no PostgreSQL server)`, () => {
  const policy = crowdPolicy({ users: USERS, approvers: APPROVERS, roles: ROLES, webhookUrl: "http://127.0.0.1:1/" });
  let database: Awaited<ReturnType<typeof throwawayDatabase>>;
  let receiver: WebhookReceiver;
  let api: SlackApiStandIn;
  let cluster: Cluster;
  let sql: postgres.Sql;
  let handle: DbHandle;
  let crowd: SlackCrowd;
  let dir: string;

  beforeAll(async () => {
    const began = Date.now();
    database = await throwawayDatabase(TEST_DATABASE_URL, "pim_cluster");
    receiver = await new WebhookReceiver(SECRET).start();
    api = await new SlackApiStandIn().start();
    const { yaml } = crowdPolicy({ users: USERS, approvers: APPROVERS, roles: ROLES, webhookUrl: receiver.url });
    for (const p of [...policy.users, ...policy.approvers])
      api.addUser({ id: p.slackId, name: p.name, email: p.email });
    dir = mkdtempSync(join(tmpdir(), "pim-cluster-"));
    writeFileSync(join(dir, "pim.yaml"), yaml);
    cluster = await Cluster.start(3, {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: "6",
      PIM_CONFIG: join(dir, "pim.yaml"),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: api.apiUrl,
      [WEBHOOK_SECRET_ENV]: SECRET,
      // A dead replica's claims lapse after the lease: a short one keeps the run short.
      OUTBOX_LEASE: "5s",
      SWEEP_INTERVAL: "1s",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    });
    sql = postgres(database.url, { max: 4, onnotice: () => {} });
    handle = await openDatabase({ driver: "postgres", url: database.url, poolSize: 2 });
    crowd = new SlackCrowd(api, cluster, sql);
    console.log(`[cluster] three replicas ready in ${Date.now() - began} ms`);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await handle?.close();
    await sql?.end();
    await database?.drop();
    await receiver?.stop();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(`${USERS} requests and their approvals over three replicas, one killed and restarted: every grant and revoke once`, {
    timeout: 240_000,
  }, async () => {
    const started = Date.now();
    const victim = cluster.replicas[1]!;
    let requested = 0;
    let killedAt = Number.POSITIVE_INFINITY;
    let restarted: Promise<void> | undefined;
    const grantedAfterClick: number[] = [];

    /** The replica dies once enough requests are in, and comes back later. */
    const onRequested = () => {
      requested++;
      if (requested === KILL_AT) {
        killedAt = Date.now();
        void cluster.kill(victim);
      }
      if (requested === RESTART_AT) restarted = cluster.restart(victim);
    };

    async function ask(user: Person, i: number): Promise<ActivationRow> {
      for (let attempt = 0; attempt < 5; attempt++) {
        const form = await crowd.openRequestForm(user, policy.roleOf(user));
        const sent = form && (await crowd.submitRequest(user, form, `Cluster run, person ${i}`));
        const found = await crowd.latestActivation(user);
        if (found) return found;
        // Refused with no request of theirs in the database: only a lost submission, recorded
        // as its replica died and seen committed only now, may explain a refusal.
        if (sent?.status === 200 && sent.json?.errors) {
          const late = await poll(() => crowd.latestActivation(user), 2_000);
          if (late) return late;
          throw new Error(`the form was refused: ${sent.text}`);
        }
      }
      throw new Error(`${user.key} could not make a request in five tries`);
    }

    const grantOf = (activationId: string) => receiver.of("grant").find((d) => d.event.activationId === activationId);

    /**
     * Approves the request from a card, or from `/elevate pending` when asked; "no card" when no
     * approver of the role was sent one (the requester's card may be there): its replica died
     * between recording it and posting them.
     */
    async function approve(user: Person, activation: ActivationRow, fromList = false): Promise<"granted" | "no card"> {
      const approvers = [...policy.approversOf.get(policy.roleOf(user))!].sort(() => Math.random() - 0.5);
      const deadline = Date.now() + 40_000;
      for (let round = 0; ; round++) {
        if (Date.now() > deadline) throw new Error(`${activation.id} was never granted: ${await explain(activation)}`);
        const first = approvers[round % approvers.length]!;
        const clickedAt = Date.now();
        if (fromList) {
          await crowd.approveFromPendingList(first, activation.requestId);
        } else {
          const card = await poll(() => crowd.approverCard(activation.requestId, first), 4_000, 150);
          if (!card) {
            const [cards] = await sql<{ n: number }[]>`
              select count(*)::int as n from chat_messages
              where subject_id = ${activation.requestId} and kind <> 'requester'`;
            const now = await crowd.activation(activation.id);
            if (now?.status === "pending_approval" && cards!.n === 0) return "no card";
            continue;
          }
          // One time in four a second approver clicks at the same moment, on another replica.
          const second = approvers[(round + 1) % approvers.length]!;
          const secondCard = Math.random() < 0.25 ? crowd.approverCard(activation.requestId, second) : undefined;
          await Promise.all([crowd.approve(first, card), secondCard && crowd.approve(second, secondCard)]);
        }
        if (await poll(() => grantOf(activation.id), 6_000, 100)) {
          grantedAfterClick.push(Date.now() - clickedAt);
          return "granted";
        }
        // No grant yet: the click may have been lost with its replica, or the grant is still on its way.
        if ((await crowd.activation(activation.id))?.status !== "pending_approval") {
          if (await poll(() => grantOf(activation.id), 15_000, 100)) return "granted";
        }
      }
    }

    /** Polls the activation's state every `every` ms until it is one of `states`. */
    const reaches = (id: string, states: string[], ms: number, every = 200) =>
      poll(
        async () => {
          const a = await crowd.activation(id);
          return a && states.includes(a.status) ? a : undefined;
        },
        ms,
        every,
      );

    /** What the database and the stand-in show of a request, for a failure's message. */
    async function explain(activation: ActivationRow): Promise<string> {
      const events =
        await sql`select event, actor, data from audit_events where request_id = ${activation.requestId} order by id`;
      const cards =
        await sql`select kind, principal_id, conversation_id, message_id from chat_messages where subject_id = ${activation.requestId}`;
      return JSON.stringify({ killedAt, now: Date.now(), unanswered: crowd.unanswered, events, cards }, null, 1);
    }

    async function end(user: Person, activation: ActivationRow, i: number): Promise<void> {
      if (!(await reaches(activation.id, ["active"], 20_000)))
        throw new Error(`${activation.id} never became active: ${await explain(activation)}`);
      if (i % 2 === 1) {
        // As if its time had run out: the expiry sweep of whichever replica gets there first revokes it.
        await sql`update activations set ends_at = now() + interval '1 second' where id = ${activation.id} and status = 'active'`;
        return;
      }
      for (let attempt = 0; attempt < 5; attempt++) {
        await crowd.endRole(user, policy.roleOf(user));
        if (await reaches(activation.id, ["ending", "ended"], 3_000)) return;
      }
      throw new Error(`${activation.id} could not be ended in five tries`);
    }

    /** Requests whose approval cards were never posted, decided once the crowd has gone. */
    const withoutCards: { user: Person; activation: ActivationRow; i: number }[] = [];
    async function journey(user: Person, i: number): Promise<void> {
      const activation = await ask(user, i);
      onRequested();
      if ((await approve(user, activation)) === "no card") return void withoutCards.push({ user, activation, i });
      await end(user, activation, i);
    }
    // The crowd: IN_FLIGHT people at a time, each starting as another finishes.
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < policy.users.length) {
          const i = next++;
          await journey(policy.users[i]!, i);
        }
      }),
    );
    await restarted;
    // The approvers look for what waits for them with `/elevate pending`, now a short list.
    await Promise.all(
      withoutCards.map(async ({ user, activation, i }) => {
        await approve(user, activation, true);
        await end(user, activation, i);
      }),
    );
    const crowdDoneMs = Date.now() - started;

    // Everything settles: every activation ended, nothing pending in the outbox.
    const settled = await poll(
      async () => {
        const [open] = await sql<{ n: number }[]>`
        select (select count(*) from activations where status <> 'ended')::int
             + (select count(*) from outbox_jobs where status = 'pending')::int as n`;
        return open!.n === 0 ? true : undefined;
      },
      30_000,
      200,
    );
    if (!settled) {
      const states = await sql`select status, count(*)::int as n from activations group by status`;
      const jobs = await sql`select kind, status, count(*)::int as n from outbox_jobs group by kind, status`;
      throw new Error(`not settled: ${JSON.stringify(states)} ${JSON.stringify(jobs)}\n${cluster.output()}`);
    }

    // One request per person, each whole: its activation row and its one `activation.requested` event.
    const activations = await sql<{ id: string; reason: string; principal: string }[]>`
      select a.id, a.reason, p.key as principal from activations a join principals p on p.id = a.principal_id`;
    expect(activations).toHaveLength(USERS);
    expect(new Set(activations.map((a) => a.principal)).size).toBe(USERS);
    expect(count(activations.map((a) => a.reason))).toEqual({ deactivated: USERS / 2, expired: USERS / 2 });
    const requestedEvents = await sql<{ activationId: string; n: number }[]>`
      select activation_id as "activationId", count(*)::int as n from audit_events
      where event = 'activation.requested' group by activation_id`;
    expect(requestedEvents).toHaveLength(USERS);
    expect(requestedEvents.every((e) => e.n === 1)).toBe(true);
    // A decision after the decision changes nothing: one approval per activation, races included.
    const approvals = await sql<{ n: number }[]>`
      select count(*)::int as n from approvals group by activation_id`;
    expect(approvals).toHaveLength(USERS);
    expect(approvals.every((a) => a.n === 1)).toBe(true);

    // Every grant and every revoke done once in effect; a repeated call is only the redelivery of a
    // call the killed replica had in flight, with the same idempotency key (a live replica renews
    // its claims well within the 5 s lease, so no other call is ever made twice).
    const jobs = await sql<{ kind: string; status: string; n: number }[]>`
      select kind, status, count(*)::int as n from outbox_jobs group by kind, status order by kind`;
    expect(jobs).toEqual([
      { kind: "grant", status: "done", n: USERS },
      { kind: "revoke", status: "done", n: USERS },
    ]);
    let redelivered = 0;
    for (const type of ["grant", "revoke"] as const) {
      const calls = receiver.of(type);
      expect(calls.every((d) => d.verified)).toBe(true);
      expect(new Set(calls.map((d) => d.event.activationId)).size).toBe(USERS);
      for (const a of activations) {
        const mine = calls.filter((d) => d.event.activationId === a.id);
        expect(new Set(mine.map((d) => d.event.idempotencyKey)).size, `${type} of ${a.id}`).toBe(1);
        if (mine.length > 1) {
          redelivered += mine.length - 1;
          expect(
            Date.parse(mine[0]!.event.sentAt),
            `first ${type} call of ${a.id} before the kill`,
          ).toBeLessThanOrEqual(killedAt);
        }
      }
    }

    // The audit log, written by three processes and one that died mid-write, verifies.
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true });
    expect(api.violations).toEqual([]);
    expect(victim.lives).toHaveLength(2);
    expect(cluster.live()).toHaveLength(3);

    const sorted = [...grantedAfterClick].sort((a, b) => a - b);
    const workers = await sql<{ worker: string; n: number }[]>`
      select data->>'worker' as worker, count(*)::int as n from audit_events
      where event in ('connector.grant.succeeded', 'connector.revoke.succeeded') group by 1 order by 1`;
    console.log(
      `[cluster] ${USERS} requests in ${crowdDoneMs} ms, settled in ${Date.now() - started} ms; ` +
        `no answer: ${JSON.stringify(crowd.unanswered)}; requests without cards: ${withoutCards.length}; ` +
        `redelivered target calls: ${redelivered}; ` +
        `click → grant p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms; ` +
        `target calls by replica ${JSON.stringify(Object.fromEntries(workers.map((w) => [w.worker, w.n])))}`,
    );
  });
});

function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
