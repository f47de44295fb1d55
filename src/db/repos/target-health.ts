import { and, eq, isNotNull, isNull, lte, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { targetHealth } from "../schema/target-health.js";

export interface TargetOutcome {
  target: string;
  /** A call answered (whatever it said), or failed in a way that says the target is away. */
  answered: boolean;
  error?: string;
}

export interface HealthChanges {
  /** Targets failing for longer than the alert threshold, alerted from now on. */
  alerted: string[];
  /** Targets that had been failing and answered again. */
  recovered: string[];
}

/**
 * Records what the calls of one completion said about their targets. A failing target keeps the
 * time of its first failure until it answers again; once that is `alertAfterMs` old it is marked
 * alerted. `maybeFailing` says which targets might have a failure on record: a target that works
 * and has none costs no statement.
 */
export async function recordTargetOutcomes(
  tx: Executor,
  outcomes: TargetOutcome[],
  now: Date,
  alertAfterMs: number,
  maybeFailing: (target: string) => boolean,
): Promise<HealthChanges> {
  const failures = new Map<string, string>();
  const answered = new Set<string>();
  for (const o of outcomes) {
    if (o.answered) answered.add(o.target);
    else failures.set(o.target, o.error ?? "unknown error");
  }
  for (const t of answered) failures.delete(t);
  const changes: HealthChanges = { alerted: [], recovered: [] };

  for (const target of [...answered].filter(maybeFailing).sort()) {
    const [was] = await tx
      .update(targetHealth)
      .set({ failingSince: null, alertedAt: null, lastSuccessAt: now })
      .where(and(eq(targetHealth.target, target), isNotNull(targetHealth.failingSince)))
      .returning({ target: targetHealth.target });
    if (was) changes.recovered.push(target);
  }
  for (const [target, error] of [...failures].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await tx
      .insert(targetHealth)
      .values({ target, failingSince: now, lastError: error, lastFailureAt: now })
      .onConflictDoUpdate({
        target: targetHealth.target,
        set: {
          failingSince: sql`coalesce(${targetHealth.failingSince}, excluded.failing_since)`,
          lastError: error,
          lastFailureAt: now,
        },
      });
    const [alerted] = await tx
      .update(targetHealth)
      .set({ alertedAt: now })
      .where(
        and(
          eq(targetHealth.target, target),
          isNull(targetHealth.alertedAt),
          lte(targetHealth.failingSince, new Date(now.getTime() - alertAfterMs)),
        ),
      )
      .returning({ target: targetHealth.target });
    if (alerted) changes.alerted.push(target);
  }
  return changes;
}

/** Targets with a failure on record now. */
export async function failingTargets(db: Executor): Promise<string[]> {
  const rows = await db
    .select({ target: targetHealth.target })
    .from(targetHealth)
    .where(isNotNull(targetHealth.failingSince));
  return rows.map((r) => r.target);
}

export interface DownTarget {
  target: string;
  failingSince: Date;
  lastError: string | null;
}

/** Targets failing for longer than their alert threshold, and still failing. */
export async function alertedTargets(db: Executor): Promise<DownTarget[]> {
  const rows = await db
    .select({ target: targetHealth.target, failingSince: targetHealth.failingSince, lastError: targetHealth.lastError })
    .from(targetHealth)
    .where(and(isNotNull(targetHealth.failingSince), isNotNull(targetHealth.alertedAt)));
  return rows.map((r) => ({ target: r.target, failingSince: r.failingSince!, lastError: r.lastError }));
}
