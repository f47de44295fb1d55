import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { collectDefaultMetrics, Registry } from "prom-client";
import { applyConfig } from "./app/apply-config.js";
import type { EngineDeps } from "./app/context.js";
import { EventBus } from "./app/event-bus.js";
import { newId } from "./app/ids.js";
import { systemClock } from "./app/ports.js";
import { type ChatPlatform, DisabledPlatform } from "./chat/platform.js";
import { type Env, parseEnv } from "./config/env.js";
import { formatPimFileErrors, loadPimFile } from "./config/pim-file.js";
import { ConnectorRegistry } from "./connectors/registry.js";
import { type DbHandle, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { mountOps } from "./http/ops.js";
import { HttpServer } from "./http/server.js";
import { OutboxWorker } from "./jobs/outbox-worker.js";
import { Scheduler } from "./jobs/scheduler.js";
import { createLogger } from "./logger.js";

const EXAMPLE_POLICY = fileURLToPath(new URL("../pim.example.yaml", import.meta.url));

export interface Running {
  port: number;
  stop(): Promise<void>;
}

/** Builds everything from the environment and starts it. The only place that reads process.env. */
export async function start(source: Record<string, string | undefined>): Promise<Running> {
  const parsed = parseEnv(source);
  if (!parsed.ok) throw new StartupError(parsed.message);
  const env = parsed.env;
  const log = createLogger(env.LOG_LEVEL);

  const handle = await openDatabaseFor(env);
  log.info(
    { driver: handle.driver, where: handle.driver === "pglite" ? env.PGLITE_DIR : "DATABASE_URL" },
    "database opened",
  );
  await runMigrations(handle);

  const bus = new EventBus((error, event) => log.error({ err: error, event: event.type }, "event listener failed"));
  const deps: EngineDeps = { db: handle.db, clock: systemClock, events: bus };

  const policyPath = existsSync(env.PIM_CONFIG) ? env.PIM_CONFIG : EXAMPLE_POLICY;
  if (policyPath === EXAMPLE_POLICY)
    log.warn({ PIM_CONFIG: env.PIM_CONFIG }, "no policy file there; using the shipped example policy");
  const policy = await loadPimFile(policyPath);
  if (!policy.ok) throw new StartupError(`${policyPath} is invalid:\n${formatPimFileErrors(policy.error)}`);
  const applied = await applyConfig(deps, policy.value);
  log.info({ file: policyPath, changes: applied.changes }, "policy applied");

  const connectors = new ConnectorRegistry(handle.db);
  const workerId = env.WORKER_ID ?? `${hostname()}-${process.pid}-${newId("job").slice(4, 10)}`;
  const worker = new OutboxWorker(deps, connectors, log, { workerId, leaseMs: env.OUTBOX_LEASE });
  const scheduler = new Scheduler(deps, worker, log, {
    sweepIntervalMs: env.SWEEP_INTERVAL,
    timerHorizonMs: 10 * 60_000,
  });
  bus.subscribe(scheduler.onEvent);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http = new HttpServer(log);
  mountOps(http, registry, [{ name: "database", check: async () => void (await handle.db.execute("select 1")) }]);

  const platforms = chatPlatforms(env);
  for (const p of platforms) {
    if (p instanceof DisabledPlatform) log.info({ platform: p.name, why: p.why }, `${p.name} is disabled`);
    p.mount(http);
  }

  const port = await http.listen(env.PORT, env.HOST);
  await scheduler.start();
  for (const p of platforms) await p.start();
  log.info({ port, publicUrl: env.PUBLIC_URL, workerId }, "pim-bot is running");

  return {
    port,
    async stop() {
      for (const p of platforms) await p.stop();
      await scheduler.stop();
      await http.close();
      await handle.close();
    },
  };
}

function openDatabaseFor(env: Env): Promise<DbHandle> {
  return env.DATABASE_URL
    ? openDatabase({ driver: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE })
    : openDatabase({ driver: "pglite", dataDir: env.PGLITE_DIR });
}

function chatPlatforms(env: Env): ChatPlatform[] {
  const slackMissing = [
    !env.SLACK_BOT_TOKEN && "SLACK_BOT_TOKEN",
    !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN && "SLACK_SIGNING_SECRET",
  ].filter(Boolean);
  return [
    new DisabledPlatform(
      "Slack",
      slackMissing.length > 0 ? `${slackMissing.join(" and ")} not set` : "not built in this version",
    ),
    new DisabledPlatform(
      "Teams",
      env.MICROSOFT_APP_ID === undefined ? "MICROSOFT_APP_ID not set" : "not built in this version",
    ),
  ];
}

export class StartupError extends Error {
  readonly code = "STARTUP";
}

const isEntryPoint = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  start(process.env).then(
    (running) => {
      const shutdown = () => void running.stop().then(() => process.exit(0));
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    },
    (error) => {
      console.error(error instanceof StartupError ? error.message : error);
      process.exit(1);
    },
  );
}
