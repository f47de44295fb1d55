import type { AuditEntry } from "../../db/audit-append.js";
import type { Database, Tx } from "../../db/client.js";
import { LocalClaims, runUnit, type UnitSettings } from "../../db/unit-of-work.js";
import type { Clock } from "./clock.js";
import type { EngineEvent, EventSink } from "./events.js";

export interface EngineDeps {
  db: Database;
  clock: Clock;
  events: EventSink;
  /**
   * What the process's units of work share, built in composition: the directory cache and this
   * process's outbox worker while it runs (see src/db/unit-of-work.ts). Without it a unit keeps
   * nothing across transactions and writes every job for a claim.
   */
  units?: UnitSettings;
}

/** One unit of work: a transaction, its time, its audit events and the events to publish once it commits. */
export interface Work {
  tx: Tx;
  now: Date;
  audit(entry: Omit<AuditEntry, "at"> & { at?: Date }): void;
  emit(event: EngineEvent): void;
}

const SHARING_NOTHING: UnitSettings = { claims: new LocalClaims() };

export async function inTransaction<T>(deps: EngineDeps, fn: (work: Work) => Promise<T>): Promise<T> {
  const events: EngineEvent[] = [];
  const result = await runUnit(deps.db, deps.units ?? SHARING_NOTHING, (tx, entries) => {
    const now = deps.clock.now();
    return fn({
      tx,
      now,
      audit: (entry) => entries.push({ ...entry, at: entry.at ?? now }),
      emit: (event) => events.push(event),
    });
  });
  for (const event of events) deps.events.publish(event);
  return result;
}
