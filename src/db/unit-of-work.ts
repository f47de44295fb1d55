import { type AuditEntry, AuditLanes, appendAuditPipelined, laneHeldBy } from "./audit-append.js";
import { commitMayFollowPending, type Database, type Executor, type Tx } from "./client.js";
import { DirectoryCache, useDirectoryCache } from "./directory-cache.js";
import { prefetchDirectoryVersion } from "./repos/directory.js";

/**
 * A unit of work on the database: one transaction, whose audit events are appended at its end.
 * Every round trip the engine saves is decided here and nowhere else (see README.md in this
 * folder): writes whose result nothing waits for go out with the next statement, the directory's
 * version travels with BEGIN, the audit events go in one statement on a lane the process chose,
 * COMMIT follows the append without waiting where the driver pipelines, and jobs due at once are
 * written claimed by this process's worker.
 */

/** Who takes jobs as they are written, as a claim would: a worker's id and lease. */
export interface Claimant {
  workerId: string;
  leaseMs: number;
}

/**
 * This process's outbox worker, while it runs: grants and revokes due at once are written claimed
 * by it (see insertHoldingJobs), so it runs them the moment their transaction commits, without a
 * claim round trip. Built in composition; the scheduler opens it for its worker when it starts and
 * closes it when it stops. While closed, jobs wait for a claim.
 */
export class LocalClaims {
  private claimant: Claimant | null = null;

  open(claimant: Claimant): void {
    this.claimant = claimant;
  }

  close(): void {
    this.claimant = null;
  }

  get current(): Claimant | null {
    return this.claimant;
  }
}

/** What every unit of work of a process shares, built once in composition. */
export interface UnitSettings {
  claims: LocalClaims;
  /** Without them, each unit asks the database how many lanes there are. */
  lanes?: AuditLanes;
  /** Without one, directory reads are kept for the transaction only. */
  directory?: DirectoryCache;
}

export function newUnitSettings(): UnitSettings {
  return { claims: new LocalClaims(), directory: new DirectoryCache(), lanes: new AuditLanes() };
}

interface UnitState {
  claimant: Claimant | null;
  /** Writes whose result nothing in the unit waits for. */
  pending: Promise<unknown>[];
}

const units = new WeakMap<object, UnitState>();

/**
 * Runs `body` in a transaction and appends the audit entries it collected, then commits. Fails,
 * and rolls back, when any write failed, reporting that write's own failure.
 */
export async function runUnit<T>(
  db: Database,
  settings: UnitSettings,
  body: (tx: Tx, audit: AuditEntry[]) => Promise<T>,
): Promise<T> {
  const lanes = settings.lanes ?? new AuditLanes();
  let appended: Promise<void> = Promise.resolve();
  let releaseLane = () => {};
  try {
    const result = await db.transaction(async (tx) => {
      const unit: UnitState = { claimant: settings.claims.current, pending: [] };
      units.set(tx, unit);
      if (settings.directory) useDirectoryCache(tx, settings.directory);
      prefetchDirectoryVersion(tx);
      const entries: AuditEntry[] = [];
      const value = await body(tx, entries).catch(async (error: unknown) => {
        // A failed write aborts the transaction, and every statement after it fails for that
        // reason only: report the write's own failure.
        const failed = (await Promise.allSettled(unit.pending)).find((r) => r.status === "rejected");
        throw failed ? failed.reason : error;
      });
      // Set before the append takes a lane, so the lane is given back however the unit ends.
      releaseLane = () => {
        const lane = laneHeldBy(tx);
        if (lane !== undefined) lanes.release(lane);
      };
      appended = (await appendAndCommit(tx, entries, lanes, unit.pending)).written;
      return value;
    });
    await appended;
    return result;
  } finally {
    await appended.catch(() => {});
    releaseLane();
  }
}

/**
 * The end of every unit: waits for the writes still in flight (their own checks, a version that
 * moved, say, run before anything commits), appends the unit's audit events, and lets COMMIT go.
 * Where the driver pipelines, COMMIT goes out right behind the append's statement: should the
 * append fail, COMMIT rolls the whole unit back, and the returned promise, awaited after the
 * transaction, reports why. PGlite has no round trip to save, so there the append is awaited first.
 */
async function appendAndCommit(
  tx: Tx,
  entries: AuditEntry[],
  lanes: AuditLanes,
  pending: Promise<unknown>[],
): Promise<{ written: Promise<void> }> {
  const append = appendAuditPipelined(tx, entries, lanes, pending);
  await (commitMayFollowPending(tx) ? append.sent : append.done);
  return { written: append.done };
}

/**
 * A write whose result nothing in the unit waits for: inside a unit it goes out with the next
 * statement instead of on its own, and the unit fails, and rolls back, if it fails (statements on
 * one transaction run in the order they were started, so later reads see its effect). Outside a
 * unit it is simply awaited.
 */
export function writeBehind(tx: Executor, write: Promise<unknown>): Promise<void> {
  const unit = units.get(tx);
  if (!unit) return write.then(() => {});
  write.catch(() => {}); // awaited before the unit commits
  unit.pending.push(write);
  return Promise.resolve();
}

/** The worker that takes jobs written in this transaction as they are written, if any. */
export function claimantOf(tx: Executor): Claimant | null {
  return units.get(tx)?.claimant ?? null;
}
