import type { EngineEvent } from "../../src/app/kernel/events.js";
import type { EngineDeps } from "../../src/app/kernel/unit-of-work.js";
import { formatPimFileErrors, type PimConfig, parsePimFile } from "../../src/config/pim-file.js";
import type { ConnectorRegistry } from "../../src/connectors/registry.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import type { OutboxWorker, OutboxWorkerOptions } from "../../src/jobs/outbox-worker.js";
import { ManualClock } from "./clock.js";
import type { DriverName, TestDatabase } from "./databases.js";
import { composeEngine, idByKey } from "./engine.js";

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
  const clock = options.clock ?? new ManualClock();
  const e = await composeEngine(driver, config, { ...options, clock });
  return {
    handle: e.handle,
    deps: e.bot.deps,
    clock,
    events: e.events,
    subscribe: e.subscribe,
    connectors: e.bot.connectors,
    worker: e.bot.worker,
    user: (key) => idByKey(e.handle.db, principals, key),
    role: (key) => idByKey(e.handle.db, roles, key),
    dispose: e.dispose,
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
