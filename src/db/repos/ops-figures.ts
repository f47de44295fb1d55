import { and, count, eq, inArray, lte, min } from "drizzle-orm";
import { OPEN_STATUSES } from "../../domain/activation.js";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { outboxJobs } from "../schema/outbox.js";

/** The states an activation is still moving through; ended and closed ones only pile up. */
export const LIVE_STATES = OPEN_STATUSES;
export type LiveState = (typeof OPEN_STATUSES)[number];

/** How many activations are in each live state now (served by the status index). */
export async function liveActivationCounts(db: Executor): Promise<Record<LiveState, number>> {
  const rows = await db
    .select({ status: activations.status, n: count() })
    .from(activations)
    .where(inArray(activations.status, [...LIVE_STATES]))
    .groupBy(activations.status);
  const out = Object.fromEntries(LIVE_STATES.map((s) => [s, 0])) as Record<LiveState, number>;
  for (const r of rows) out[r.status as LiveState] = Number(r.n);
  return out;
}

/** Grant and revoke jobs due by `now` and not yet done, and when the oldest of them fell due. */
export async function outboxBacklog(db: Executor, now: Date): Promise<{ due: number; oldestDueAt: Date | null }> {
  const [row] = await db
    .select({ due: count(), oldest: min(outboxJobs.runAt) })
    .from(outboxJobs)
    .where(and(eq(outboxJobs.status, "pending"), lte(outboxJobs.runAt, now)));
  return { due: Number(row?.due ?? 0), oldestDueAt: row?.oldest ? new Date(row.oldest) : null };
}
