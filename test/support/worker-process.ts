/**
 * A pim-bot replica's job machinery alone, as a separate process for multi-process tests: the
 * outbox worker (WORKER_MODE=worker) or the whole scheduler (WORKER_MODE=scheduler) on the real
 * clock, against DATABASE_URL. Prints one JSON line {"ready":true} once running; SIGTERM stops
 * it cleanly, SIGKILL is what the tests use to simulate a crash.
 *
 *   DATABASE_URL=postgres://… WORKER_ID=w1 LEASE_MS=2000 [BATCH_SIZE=50] node --import tsx test/support/worker-process.ts
 */
import pino from "pino";
import { systemClock } from "../../src/app/kernel/clock.js";
import { EventBus } from "../../src/app/kernel/event-bus.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { openDatabase } from "../../src/db/client.js";
import { newUnitSettings } from "../../src/db/unit-of-work.js";
import { OutboxWorker } from "../../src/jobs/outbox-worker.js";
import { Scheduler } from "../../src/jobs/scheduler.js";

const env = process.env;
const log = pino({ level: env.LOG_LEVEL ?? "warn" }, pino.destination(2));
const handle = await openDatabase({ driver: "postgres", url: env.DATABASE_URL!, poolSize: 6 });
const bus = new EventBus((error) => log.error({ err: error }, "listener failed"));
const units = newUnitSettings();
const deps: EngineDeps = { db: handle.db, clock: systemClock, events: bus, units };
const connectors = new ConnectorRegistry(handle.db, { env });
const worker = new OutboxWorker(deps, connectors, log, {
  workerId: env.WORKER_ID ?? `proc-${process.pid}`,
  leaseMs: Number(env.LEASE_MS ?? 30_000),
  ...(env.BATCH_SIZE ? { batchSize: Number(env.BATCH_SIZE) } : {}),
});

let stopping = false;
let stopScheduler: (() => Promise<void>) | undefined;
let loop: Promise<void> | undefined;

if (env.WORKER_MODE === "scheduler") {
  const scheduler = new Scheduler(deps, worker, units.claims, log, {
    sweepIntervalMs: Number(env.SWEEP_MS ?? 1_000),
    timerHorizonMs: 10 * 60_000,
    ...(env.BATCH_SIZE ? { expiryBatchSize: Number(env.BATCH_SIZE) } : {}),
  });
  bus.subscribe(scheduler.onEvent);
  await scheduler.start();
  stopScheduler = () => scheduler.stop();
} else {
  loop = (async () => {
    while (!stopping) {
      const n = await worker.runOnce().catch((error) => {
        log.error({ err: error }, "worker round failed");
        return 0;
      });
      if (n === 0) await new Promise((r) => setTimeout(r, 50));
    }
  })();
}
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

process.once("SIGTERM", async () => {
  stopping = true;
  await loop;
  await stopScheduler?.();
  await connectors.close();
  await handle.close();
  process.exit(0);
});
