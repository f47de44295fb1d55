import { eq } from "drizzle-orm";
import { applyConfig } from "../../src/app/apply-config.js";
import type { EngineDeps, EngineEvent } from "../../src/app/context.js";
import { formatPimFileErrors, type PimConfig, parsePimFile } from "../../src/config/pim-file.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { OutboxWorker, type OutboxWorkerOptions } from "../../src/jobs/outbox-worker.js";
import { ManualClock } from "./clock.js";
import { createTestDatabase, type DriverName, type TestDatabase } from "./databases.js";
import { silentLogger } from "./engine.js";

export function parseConfig(yaml: string): PimConfig {
  const parsed = parsePimFile(yaml, "test.yaml");
  if (!parsed.ok) throw new Error(formatPimFileErrors(parsed.error));
  return parsed.value;
}

export interface Harness {
  handle: TestDatabase;
  deps: EngineDeps;
  clock: ManualClock;
  events: EngineEvent[];
  /** Also hands every event to `listener` (a scheduler, say), after recording it. */
  subscribe(listener: (event: EngineEvent) => void): void;
  connectors: ConnectorRegistry;
  worker: OutboxWorker;
  user(key: string): Promise<string>;
  role(key: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * Like test/support/engine.ts, for a policy written by the test (targets on ports only known at
 * run time) and with the environment the connectors read their secrets and URLs from.
 */
export async function createHarness(
  driver: DriverName,
  config: PimConfig,
  options: {
    env?: Record<string, string | undefined>;
    clock?: ManualClock;
    worker?: Partial<OutboxWorkerOptions>;
  } = {},
): Promise<Harness> {
  const handle = await createTestDatabase(driver);
  const clock = options.clock ?? new ManualClock();
  const events: EngineEvent[] = [];
  const listeners: ((event: EngineEvent) => void)[] = [];
  const publish = (event: EngineEvent) => {
    events.push(event);
    for (const listener of listeners) listener(event);
  };
  const deps: EngineDeps = { db: handle.db, clock, events: { publish } };
  await applyConfig(deps, config);
  const connectors = new ConnectorRegistry(handle.db, { env: options.env ?? {} });
  const worker = new OutboxWorker(deps, connectors, silentLogger, {
    workerId: "test-worker",
    random: () => 0.5,
    ...options.worker,
  });
  const idOf = async (table: typeof principals | typeof roles, key: string) => {
    const [row] = await handle.db.select({ id: table.id }).from(table).where(eq(table.key, key));
    if (!row) throw new Error(`no ${key} in the policy`);
    return row.id;
  };
  return {
    handle,
    deps,
    clock,
    events,
    subscribe: (listener) => void listeners.push(listener),
    connectors,
    worker,
    user: (key) => idOf(principals, key),
    role: (key) => idOf(roles, key),
    dispose: async () => {
      await connectors.close();
      await handle.dispose();
    },
  };
}

/** The real time, shifted by `offsetMs`: for tests of the real-timer paths that still need to set up the past. */
export class LiveClock extends ManualClock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  override advance(ms: number): Date {
    this.offsetMs += ms;
    return this.now();
  }
  override set(at: Date | string): void {
    this.offsetMs = new Date(at).getTime() - Date.now();
  }
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
