import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import pino from "pino";
import { applyConfig } from "../../src/app/apply-config.js";
import type { EngineDeps, EngineEvent } from "../../src/app/context.js";
import { formatPimFileErrors, type PimConfig, parsePimFile } from "../../src/config/pim-file.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { OutboxWorker, type OutboxWorkerOptions } from "../../src/jobs/outbox-worker.js";
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

/** A migrated database with the fixture policy applied, a manual clock and an outbox worker. */
export async function createEngine(
  driver: DriverName,
  fixture = "engine.yaml",
  workerOptions: Partial<OutboxWorkerOptions> = {},
): Promise<EngineHarness> {
  const handle = await createTestDatabase(driver);
  const clock = new ManualClock();
  const events: EngineEvent[] = [];
  const deps: EngineDeps = { db: handle.db, clock, events: { publish: (e) => events.push(e) } };
  await applyConfig(deps, loadFixture(fixture));
  const connectors = new ConnectorRegistry(handle.db);
  const worker = new OutboxWorker(deps, connectors, silentLogger, {
    workerId: "test-worker",
    random: () => 0.5,
    ...workerOptions,
  });
  const idOf = async (table: typeof principals | typeof roles, key: string) => {
    const [row] = await handle.db.select({ id: table.id }).from(table).where(eq(table.key, key));
    if (!row) throw new Error(`no ${key} in the fixture`);
    return row.id;
  };
  return {
    handle,
    deps,
    clock,
    events,
    connectors,
    worker,
    user: (key) => idOf(principals, key),
    role: (key) => idOf(roles, key),
    dispose: () => handle.dispose(),
  };
}
