import {
  type HoldingJobKind,
  type HoldingJobPayload,
  insertHoldingJobs,
  type JobRow,
  newJobRow,
} from "../../db/repos/outbox.js";
import type { Activation, In } from "../../domain/activation.js";
import { newId } from "../kernel/ids.js";
import { currentRequestId } from "../kernel/request-trace.js";
import type { Work } from "../kernel/unit-of-work.js";

/** A grant or revoke to write: what it does, for which activation (if any), and from when. */
export interface HoldingJob {
  kind: HoldingJobKind;
  activationId: string | null;
  payload: HoldingJobPayload;
  /** Now, unless it waits for a scheduled start. */
  runAt?: Date;
}

/**
 * The one way grants and revokes are written: in the transaction that decided them, so none can
 * be lost, any number in one statement. Those due at once are taken by this process's worker as
 * they are written, when one runs here (see src/db/unit-of-work.ts), and announced with their rows
 * so it runs them the moment the transaction commits; the rest are announced for a claim.
 * Returns the jobs' ids.
 */
export async function enqueueHoldings(work: Work, jobs: HoldingJob[]): Promise<string[]> {
  if (jobs.length === 0) return [];
  const httpRequestId = currentRequestId();
  const rows = jobs.map((job) =>
    newJobRow({
      id: newId("job"),
      kind: job.kind,
      activationId: job.activationId,
      runAt: job.runAt ?? work.now,
      now: work.now,
      payload: { ...job.payload, ...(httpRequestId && !job.payload.httpRequestId ? { httpRequestId } : {}) },
    }),
  );
  await insertHoldingJobs(work.tx, rows, work.now, (claimed) => announce(work, rows, claimed));
  return rows.map((r) => r.id);
}

/** One event for the jobs taken as written, and one for the earliest of the rest (the claim finds them all). */
function announce(work: Work, rows: JobRow[], claimed: JobRow[]): void {
  if (claimed[0]) work.emit({ type: "holding.job", jobId: claimed[0].id, runAt: claimed[0].runAt, claimed });
  const taken = new Set(claimed.map((j) => j.id));
  const waiting = rows.filter((r) => !taken.has(r.id)).sort((a, b) => a.runAt.getTime() - b.runAt.getTime());
  if (waiting[0]) work.emit({ type: "holding.job", jobId: waiting[0].id, runAt: waiting[0].runAt });
}

/** What an activation's job carries: the holding, and until when (grants, for targets that end it themselves). */
export function holdingOf(a: Activation, until: Date | null): HoldingJobPayload {
  return { principalId: a.principalId, roleId: a.roleId, scope: a.scope, until: until?.toISOString() ?? null };
}

/** The grant, due now, or at the scheduled start when that is still to come. */
export function grantFor(a: Activation, work: Work): HoldingJob {
  const runAt = a.startsAt && a.startsAt > work.now ? a.startsAt : work.now;
  return { kind: "grant", activationId: a.id, runAt, payload: holdingOf(a, new Date(runAt.getTime() + a.durationMs)) };
}

/** The revoke of an activation that is ending: due from its end, so the oldest are revoked first. */
export function revokeFor(a: In<"ending">, now: Date): HoldingJob {
  return { kind: "revoke", activationId: a.id, runAt: a.endsAt < now ? a.endsAt : now, payload: holdingOf(a, null) };
}
