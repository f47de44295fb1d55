/** Reads of activations for the request views and the approvers' lists. */
import { and, desc, eq, gte, inArray, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { type StoredActivation, toActivation } from "./activations.js";

/** How often a principal activated each of these roles since a moment, by role id (none: absent). */
export async function activationCountsSince(
  tx: Executor,
  principalId: string,
  roleIds: string[],
  since: Date,
): Promise<Map<string, number>> {
  const rows = await tx
    .select({ roleId: activations.roleId, n: sql<number>`count(*)::int` })
    .from(activations)
    .where(
      and(
        eq(activations.principalId, principalId),
        inArray(activations.roleId, roleIds),
        gte(activations.activatedAt, since),
      ),
    )
    .groupBy(activations.roleId);
  return new Map(rows.map((r) => [r.roleId, r.n]));
}

/** Activations waiting for approval, newest request first, at most `limit`. */
export async function awaitingApproval(tx: Executor, limit: number): Promise<StoredActivation[]> {
  const rows = await tx
    .select()
    .from(activations)
    .where(eq(activations.status, "pending_approval"))
    .orderBy(desc(activations.requestedAt))
    .limit(limit);
  return rows.map(toActivation);
}
