/**
 * Full activation lifecycles per second — request → approve → grant confirmed → deactivate →
 * revoke confirmed — through the real use cases on the log connector, with the outbox run the way
 * the bot runs it (event bus → scheduler → outbox worker), on the PostgreSQL server and on
 * PGlite, with pgbench's TPS on the same server as the ceiling.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import pino from "pino";
import postgres from "postgres";
import { decide } from "../src/app/activation/decide.js";
import { deactivate } from "../src/app/activation/end.js";
import { requestActivation } from "../src/app/activation/request.js";
import { applyConfig } from "../src/app/admin/apply-config.js";
import { systemClock } from "../src/app/kernel/clock.js";
import { EventBus } from "../src/app/kernel/event-bus.js";
import { type EngineEvent, noEvents } from "../src/app/kernel/events.js";
import type { EngineDeps } from "../src/app/kernel/unit-of-work.js";
import { parsePimFile } from "../src/config/pim-file.js";
import { ConnectorRegistry } from "../src/connectors/registry.js";
import { type DbHandle, openDatabase, resultRows } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { principalByKey, roleByKeyOrName } from "../src/db/repos/directory.js";
import { newUnitSettings } from "../src/db/unit-of-work.js";
import { HOUR } from "../src/domain/duration.js";
import { OutboxWorker } from "../src/jobs/outbox-worker.js";
import { Scheduler } from "../src/jobs/scheduler.js";
import { percentile, pgbenchTps, writeResult } from "./lib/report.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/**
 * Lifecycles in flight at once, one round each: 8 as pgbench's clients, and enough to load the
 * server fully, since one lifecycle is five transactions and their commits in a row.
 */
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? "8,64,128").split(",").map(Number);
/** Bot processes sharing the lanes on the server, as replicas would (besides the one-process run). */
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 1);
/** Connections per bot process: as many as transactions that overlap, no more. */
const POOL = 24;
/** Each lane has users of its own (lane, lane + concurrency, …), so no two lanes' requests overlap. */
const USERS = 512;

function policy(): string {
  const users = Array.from(
    { length: USERS },
    (_, i) => `  - { key: u${i}, name: User ${i}, email: u${i}@example.com }`,
  ).join("\n");
  return `version: 1
users:
${users}
  - { key: approver, name: Approver, email: approver@example.com }
defaults:
  activation: { requireMfa: false, requireApproval: true, approvers: [approver] }
roles:
  - { key: ops, name: Operations }
assignments:
${Array.from({ length: USERS }, (_, i) => `  - { principal: u${i}, role: ops, kind: eligible }`).join("\n")}
`;
}

async function applyPolicy(handle: DbHandle): Promise<void> {
  const parsed = parsePimFile(policy());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  await applyConfig({ db: handle.db, clock: systemClock, events: noEvents }, parsed.value);
}

interface LaneResults {
  latencies: number[];
  failures: number;
  seconds: number;
  /** CPU time of the bot process (user + system) while the lanes ran. */
  cpuSeconds: number;
}

/**
 * One bot process's share: `lanes` lifecycles at a time, until the deadline, with its own event
 * bus, scheduler and outbox worker, as each replica of the bot has.
 */
async function runLanes(
  handle: DbHandle,
  label: string,
  lanes: number[],
  concurrency: number,
  deadline: number,
): Promise<LaneResults> {
  const log = pino({ level: "warn" });
  const bus = new EventBus((error) => log.error({ err: error }, "listener failed"));
  const units = newUnitSettings();
  const deps: EngineDeps = { db: handle.db, clock: systemClock, events: bus, units };
  const worker = new OutboxWorker(deps, new ConnectorRegistry(handle.db), log, { workerId: `bench-${label}` });
  const scheduler = new Scheduler(deps, worker, units.claims, log, {
    sweepIntervalMs: 5_000,
    timerHorizonMs: 10 * 60_000,
  });
  bus.subscribe(scheduler.onEvent);
  // A lifecycle waits for its grant to be confirmed (activation.active), then for its request to
  // change after the deactivation and read `ended` (the revoke confirmed).
  const active = new Waiters();
  const changed = new Waiters();
  bus.subscribe((event: EngineEvent) => {
    if (event.type === "activation.active") active.fire(event.activationId);
    if (event.type === "request.changed") changed.fire(event.requestId);
  });
  await scheduler.start();
  const role = (await roleByKeyOrName(handle.db, "ops"))!;
  const approver = (await principalByKey(handle.db, "approver"))!;
  const userIds = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => (await principalByKey(handle.db, `u${i}`))!.id),
  );

  const latencies: number[] = [];
  const ended: string[] = [];
  let failures = 0;
  async function lane(lane: number) {
    for (let round = 0; Date.now() < deadline; round++) {
      // Lanes never share a user, so every request is eligible and none overlaps another.
      const userId = userIds[lane + (round % Math.floor(USERS / concurrency)) * concurrency]!;
      const t0 = performance.now();
      const r = await requestActivation(deps, {
        requesterId: userId,
        roles: [{ roleId: role.id }],
        durationMs: HOUR,
        justification: "bench",
        origin: "api",
      });
      if (!r.ok) {
        failures++;
        continue;
      }
      const id = r.value.activations[0]!.id;
      const granted = active.next(id);
      await decide(deps, { requestId: r.value.requestId, approverId: approver.id, decision: "approve" });
      await granted;
      active.forget(id);
      // Deactivating changes the request once (ending); the confirmed revoke, once more (ended).
      const revoked = changed.after(r.value.requestId, changed.count(r.value.requestId) + 2);
      await deactivate(deps, id, userId);
      await revoked;
      changed.forget(r.value.requestId);
      ended.push(id);
      latencies.push(performance.now() - t0);
    }
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(lanes.map((i) => lane(i)));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  await scheduler.stop();
  // Checked once at the end rather than read back in the loop: every lifecycle counted ended.
  const [{ n }] = resultRows<{ n: number }>(
    await handle.db.execute(
      sql`select count(*)::int as n from activations where status = 'ended' and id in (select jsonb_array_elements_text(${JSON.stringify(ended)}::jsonb))`,
    ),
  ) as [{ n: number }];
  if (n !== ended.length) throw new Error(`${ended.length - n} lifecycles counted did not end`);
  return { latencies, failures, seconds, cpuSeconds };
}

function figuresOf(label: string, results: LaneResults[], processes: number, concurrency: number) {
  const latencies = results.flatMap((r) => r.latencies);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const figures = {
    lifecycles: latencies.length,
    seconds: Math.round(seconds * 100) / 100,
    lifecyclesPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
    latencyMs: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)) },
    failures: results.reduce((n, r) => n + r.failures, 0),
    concurrency,
    processes,
    /** The bot's own CPU per lifecycle (the database server's is not counted). */
    botCpuMsPerLifecycle: Math.round((results.reduce((n, r) => n + r.cpuSeconds, 0) / latencies.length) * 1e4) / 10,
  };
  console.log(
    `${label}: ${figures.lifecyclesPerSecond} lifecycles/s (${figures.lifecycles} in ${figures.seconds}s, ${processes} process${processes > 1 ? "es" : ""}), p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms, bot CPU ${figures.botCpuMsPerLifecycle} ms per lifecycle`,
  );
  return figures;
}

/** Counts the events that name each key, and settles promises when a count is reached. */
class Waiters {
  private readonly counts = new Map<string, number>();
  private readonly waiting = new Map<string, { n: number; resolve: () => void }[]>();
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  /** Settles once `key` has been named `n` times in all. */
  after(key: string, n: number): Promise<void> {
    if (this.count(key) >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(key, [...(this.waiting.get(key) ?? []), { n, resolve }]));
  }
  next(key: string): Promise<void> {
    return this.after(key, this.count(key) + 1);
  }
  fire(key: string): void {
    const n = this.count(key) + 1;
    this.counts.set(key, n);
    const waiting = this.waiting.get(key) ?? [];
    const due = waiting.filter((w) => w.n <= n);
    if (due.length === waiting.length) this.waiting.delete(key);
    else
      this.waiting.set(
        key,
        waiting.filter((w) => w.n > n),
      );
    for (const w of due) w.resolve();
  }
  forget(key: string): void {
    this.counts.delete(key);
    this.waiting.delete(key);
  }
}

/** The lanes of process `index` of `processes`: every lane once, spread evenly. */
const lanesOf = (index: number, processes: number, concurrency: number) =>
  Array.from({ length: concurrency }, (_, i) => i).filter((i) => i % processes === index);

/**
 * Lifecycles on the server from `processes` bot processes side by side (replicas, as a
 * deployment scales out; pgbench's own clients run on -j 2 threads), sharing the lanes.
 */
async function onServer(processes: number, concurrency: number) {
  const name = `pim_bench_engine_${randomBytes(3).toString("hex")}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const handle = await openDatabase({ driver: "postgres", url, poolSize: POOL });
  try {
    await runMigrations(handle);
    await applyPolicy(handle);
    // Child processes take a second or two to start; each measures its own running time.
    const results =
      processes === 1
        ? [await runLanes(handle, "postgres", lanesOf(0, 1, concurrency), concurrency, Date.now() + SECONDS * 1000)]
        : await Promise.all(
            Array.from({ length: processes }, (_, i) =>
              inChild(url, i, processes, concurrency, Date.now() + 3_000 + SECONDS * 1000),
            ),
          );
    return figuresOf(`postgres, ${concurrency} at once`, results, processes, concurrency);
  } finally {
    await handle.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** Runs one process's lanes in a child process of this script and returns what it measured. */
function inChild(
  url: string,
  index: number,
  processes: number,
  concurrency: number,
  deadline: number,
): Promise<LaneResults> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_CHILD: JSON.stringify({ url, index, processes, concurrency, deadline }) },
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve(message as LaneResults));
    child.once("exit", (code) => code !== 0 && reject(new Error(`bench process ${index} exited with ${code}`)));
  });
}

async function child(spec: { url: string; index: number; processes: number; concurrency: number; deadline: number }) {
  const handle = await openDatabase({ driver: "postgres", url: spec.url, poolSize: POOL });
  const lanes = lanesOf(spec.index, spec.processes, spec.concurrency);
  const results = await runLanes(handle, `postgres-${spec.index}`, lanes, spec.concurrency, spec.deadline);
  await handle.close();
  process.send!(results);
}

async function onPglite() {
  const handle = await openDatabase({ driver: "pglite", dataDir: null });
  try {
    await runMigrations(handle);
    await applyPolicy(handle);
    const concurrency = CONCURRENCIES[0]!;
    const lanes = lanesOf(0, 1, concurrency);
    const results = await runLanes(handle, "pglite", lanes, concurrency, Date.now() + SECONDS * 1000);
    return figuresOf(`pglite, ${concurrency} at once`, [results], 1, concurrency);
  } finally {
    await handle.close();
  }
}

if (process.env.BENCH_CHILD) {
  await child(JSON.parse(process.env.BENCH_CHILD));
  process.exit(0);
}

const runs = [];
for (const concurrency of CONCURRENCIES) {
  runs.push(await onServer(1, concurrency));
  if (PROCESSES > 1) runs.push(await onServer(PROCESSES, concurrency));
}
const server = runs.reduce((best, r) => (r.lifecyclesPerSecond > best.lifecyclesPerSecond ? r : best));
if (process.env.BENCH_ONLY === "postgres") process.exit(0);
const pglite = await onPglite();
const anchor = pgbenchTps(SERVER_URL, 20);
const target = anchor.tps / 15;
console.log(
  `pgbench: ${anchor.tps} TPS → target ${target.toFixed(1)} lifecycles/s; ours ${server.lifecyclesPerSecond} with ${server.concurrency} at once in ${server.processes} process(es) (${((server.lifecyclesPerSecond / anchor.tps) * 15).toFixed(2)} × target, 1 lifecycle per ${(anchor.tps / server.lifecyclesPerSecond).toFixed(1)} pgbench transactions)`,
);
const file = await writeResult("engine", {
  anchor: { pgbenchTps: anchor.tps, command: anchor.command },
  target: { lifecyclesPerSecond: Math.round(target * 10) / 10, rule: "≥ 1 lifecycle per 15 pgbench transactions" },
  met: server.lifecyclesPerSecond >= target,
  pgbenchTransactionsPerLifecycle: Math.round((anchor.tps / server.lifecyclesPerSecond) * 10) / 10,
  best: {
    processes: server.processes,
    concurrency: server.concurrency,
    lifecyclesPerSecond: server.lifecyclesPerSecond,
  },
  postgres: runs,
  pglite,
});
console.log(`written to ${file}`);
