import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import pino from "pino";
import type { EngineEvent } from "../../src/app/kernel/events.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { type Bot, type ComposeOverrides, compose } from "../../src/compose.js";
import { formatPimFileErrors, type PimConfig, parsePimFile } from "../../src/config/pim-file.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import type { Executor } from "../../src/db/client.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import type { OutboxWorker, OutboxWorkerOptions } from "../../src/jobs/outbox-worker.js";
import { ManualClock } from "./clock.js";
import { createTestDatabase, type DriverName, type TestDatabase } from "./databases.js";

export function loadFixture(name: string): PimConfig {
  const text = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
  const parsed = parsePimFile(text, name);
  if (!parsed.ok) throw new Error(formatPimFileErrors(parsed.error));
  return parsed.value;
}

export interface EngineHarness {
  handle: TestDatabase;
  deps: EngineDeps;
  clock: ManualClock;
  events: EngineEvent[];
  connectors: ConnectorRegistry;
  worker: OutboxWorker;
  user(key: string): Promise<string>;
  role(key: string): Promise<string>;
  dispose(): Promise<void>;
}

export const silentLogger = pino({ level: "silent" });

/** A bot without chat, as compose() builds it, on a test database: what the engine tests drive by hand. */
export interface ComposedEngine {
  bot: Bot;
  handle: TestDatabase;
  events: EngineEvent[];
  /** Also hands every event to `listener` (a scheduler, say), after recording it. */
  subscribe(listener: (event: EngineEvent) => void): void;
  dispose(): Promise<void>;
}

/**
 * pim-bot built by compose() with no chat platform, on a fresh test database with `policy` applied,
 * the test's clock, and connectors whose secrets and URLs come from `env`. Nothing runs on its own:
 * the background jobs stay off and tests run the worker and the scheduler themselves.
 */
export async function composeEngine(
  driver: DriverName,
  policy: PimConfig,
  options: {
    env?: Record<string, string | undefined>;
    clock?: ManualClock;
    worker?: Partial<OutboxWorkerOptions>;
    /** What people would be told (see ComposeOverrides.delivery). */
    delivery?: ComposeOverrides["delivery"];
  } = {},
): Promise<ComposedEngine> {
  const handle = await createTestDatabase(driver);
  const events: EngineEvent[] = [];
  const listeners: ((event: EngineEvent) => void)[] = [];
  const bot = await compose(
    { ...options.env, TEAMS_AUTH: "on" },
    {
      clock: options.clock ?? new ManualClock(),
      log: silentLogger,
      database: handle,
      policy,
      connectors: (db) => new ConnectorRegistry(db, { env: options.env ?? {} }),
      worker: { workerId: "test-worker", random: () => 0.5, ...options.worker },
      ...(options.delivery ? { delivery: options.delivery } : {}),
      tap: (event) => {
        events.push(event);
        for (const listener of listeners) listener(event);
      },
    },
  );
  return {
    bot,
    handle,
    events,
    subscribe: (listener) => void listeners.push(listener),
    async dispose() {
      await bot.stop();
      await handle.dispose();
    },
  };
}

/** The id of a principal or role by its key in the policy. */
export async function idByKey(db: Executor, table: typeof principals | typeof roles, key: string): Promise<string> {
  const [row] = await db.select({ id: table.id }).from(table).where(eq(table.key, key));
  if (!row) throw new Error(`no ${key} in the policy`);
  return row.id;
}

/** The fixture policy applied by compose() to a fresh test database, with a manual clock and the outbox worker. */
export async function createEngine(
  driver: DriverName,
  fixture = "engine.yaml",
  workerOptions: Partial<OutboxWorkerOptions> = {},
): Promise<EngineHarness> {
  const clock = new ManualClock();
  const e = await composeEngine(driver, loadFixture(fixture), { clock, worker: workerOptions });
  return {
    handle: e.handle,
    deps: e.bot.deps,
    clock,
    events: e.events,
    connectors: e.bot.connectors,
    worker: e.bot.worker,
    user: (key) => idByKey(e.handle.db, principals, key),
    role: (key) => idByKey(e.handle.db, roles, key),
    dispose: e.dispose,
  };
}
