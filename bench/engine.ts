/**
 * Full activation lifecycles per second — request → approve → grant confirmed → deactivate →
 * revoke confirmed — through the real use cases on the log connector, with the outbox run the way
 * the bot runs it (event bus → scheduler → outbox worker), on the PostgreSQL server and on
 * PGlite, with pgbench's TPS on the same server as the ceiling.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import postgres from "postgres";
import { applyConfig } from "../src/app/apply-config.js";
import type { EngineDeps, EngineEvent } from "../src/app/context.js";
import { decide } from "../src/app/decide.js";
import { deactivate } from "../src/app/end-activation.js";
import { EventBus } from "../src/app/event-bus.js";
import { systemClock } from "../src/app/ports.js";
import { requestActivation } from "../src/app/request-activation.js";
import { parsePimFile } from "../src/config/pim-file.js";
import { ConnectorRegistry } from "../src/connectors/registry.js";
import { type DbHandle, openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { getActivation } from "../src/db/repos/activations.js";
import { principalByKey, roleByKeyOrName } from "../src/db/repos/directory.js";
import { HOUR } from "../src/domain/duration.js";
import { OutboxWorker } from "../src/jobs/outbox-worker.js";
import { Scheduler } from "../src/jobs/scheduler.js";
import { percentile, pgbenchTps, writeResult } from "./lib/report.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const USERS = 200;

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

async function run(handle: DbHandle, label: string) {
  const log = pino({ level: "warn" });
  const bus = new EventBus((error) => log.error({ err: error }, "listener failed"));
  const deps: EngineDeps = { db: handle.db, clock: systemClock, events: bus };
  const parsed = parsePimFile(policy());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  await applyConfig(deps, parsed.value);
  const worker = new OutboxWorker(deps, new ConnectorRegistry(handle.db), log, { workerId: `bench-${label}` });
  const scheduler = new Scheduler(deps, worker, log, { sweepIntervalMs: 5_000, timerHorizonMs: 10 * 60_000 });
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
  const deadline = Date.now() + SECONDS * 1000;
  let failures = 0;
  async function lane(lane: number) {
    for (let round = 0; Date.now() < deadline; round++) {
      const userId = userIds[(lane + round * CONCURRENCY) % USERS]!;
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
      await deactivate(deps, id, userId);
      for (;;) {
        const moved = changed.next(r.value.requestId); // before the read, so no change slips between
        if ((await getActivation(handle.db, id))?.status === "ended") break;
        await moved;
      }
      changed.forget(r.value.requestId);
      latencies.push(performance.now() - t0);
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => lane(i)));
  const seconds = (performance.now() - started) / 1000;
  await scheduler.stop();
  const figures = {
    lifecycles: latencies.length,
    seconds: Math.round(seconds * 100) / 100,
    lifecyclesPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
    latencyMs: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)) },
    failures,
    concurrency: CONCURRENCY,
  };
  console.log(
    `${label}: ${figures.lifecyclesPerSecond} lifecycles/s (${figures.lifecycles} in ${figures.seconds}s), p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms`,
  );
  return figures;
}

/** Promises that settle when an event names a key. */
class Waiters {
  private readonly waiting = new Map<string, (() => void)[]>();
  next(key: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(key, [...(this.waiting.get(key) ?? []), resolve]));
  }
  fire(key: string): void {
    const resolvers = this.waiting.get(key);
    this.waiting.delete(key);
    for (const resolve of resolvers ?? []) resolve();
  }
  forget(key: string): void {
    this.waiting.delete(key);
  }
}

async function onServer() {
  const name = `pim_bench_engine_${randomBytes(3).toString("hex")}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  const handle = await openDatabase({ driver: "postgres", url: u.toString(), poolSize: CONCURRENCY * 2 });
  try {
    await runMigrations(handle);
    return await run(handle, "postgres");
  } finally {
    await handle.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function onPglite() {
  const handle = await openDatabase({ driver: "pglite", dataDir: null });
  try {
    await runMigrations(handle);
    return await run(handle, "pglite");
  } finally {
    await handle.close();
  }
}

const server = await onServer();
if (process.env.BENCH_ONLY === "postgres") process.exit(0);
const pglite = await onPglite();
const anchor = pgbenchTps(SERVER_URL, 20);
const target = anchor.tps / 15;
console.log(
  `pgbench: ${anchor.tps} TPS → target ${target.toFixed(1)} lifecycles/s; ours ${server.lifecyclesPerSecond} (${((server.lifecyclesPerSecond / anchor.tps) * 15).toFixed(2)} × target, 1 lifecycle per ${(anchor.tps / server.lifecyclesPerSecond).toFixed(1)} pgbench transactions)`,
);
const file = await writeResult("engine", {
  anchor: { pgbenchTps: anchor.tps, command: anchor.command },
  target: { lifecyclesPerSecond: Math.round(target * 10) / 10, rule: "≥ 1 lifecycle per 15 pgbench transactions" },
  met: server.lifecyclesPerSecond >= target,
  pgbenchTransactionsPerLifecycle: Math.round((anchor.tps / server.lifecyclesPerSecond) * 10) / 10,
  postgres: server,
  pglite,
});
console.log(`written to ${file}`);
