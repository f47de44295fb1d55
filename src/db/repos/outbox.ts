import type { Executor } from "../client.js";
import { outboxJobs } from "../schema/outbox.js";

export type HoldingJobKind = "grant" | "revoke";

export interface HoldingJobPayload extends Record<string, unknown> {
  principalId: string;
  roleId: string;
  scope: string;
  /** When the holding should end (grants), for targets that enforce expiry themselves. */
  until: string | null;
}

/** Grants and revokes of one holding run one at a time, in order. */
export const holdingKey = (p: { principalId: string; roleId: string; scope: string }) =>
  `holding:${p.principalId}:${p.roleId}:${p.scope}`;

export async function enqueueHoldingJob(
  tx: Executor,
  job: { id: string; kind: HoldingJobKind; activationId: string | null; payload: HoldingJobPayload; runAt: Date },
): Promise<void> {
  await tx.insert(outboxJobs).values({
    id: job.id,
    kind: job.kind,
    key: holdingKey(job.payload),
    activationId: job.activationId,
    payload: job.payload,
    runAt: job.runAt,
  });
}
