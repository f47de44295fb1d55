/** The counts the administrators' dashboard shows per role. */
import { eq, isNull, sql } from "drizzle-orm";
import type { RoleAssignmentCounts } from "../../domain/request-view.js";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { assignments } from "../schema/assignments.js";
import { roles } from "../schema/roles.js";

/** Per role not retired, by name: assignments in force now, eligible against standing access. */
export async function assignmentCountsByRole(
  tx: Executor,
  now: Date,
): Promise<Omit<RoleAssignmentCounts, "activeNow">[]> {
  // A raw template does not map a Date the way a column does; postgres.js takes the ISO text.
  const at = now.toISOString();
  const inForce = sql`(${assignments.startsAt} is null or ${assignments.startsAt} <= ${at}) and (${assignments.endsAt} is null or ${assignments.endsAt} > ${at})`;
  return tx
    .select({
      roleId: roles.id,
      roleName: roles.name,
      eligible: sql<number>`count(*) filter (where ${assignments.kind} = 'eligible' and ${inForce})::int`,
      permanentActive: sql<number>`count(*) filter (where ${assignments.kind} = 'active' and ${assignments.endsAt} is null and ${inForce})::int`,
      timeBoundActive: sql<number>`count(*) filter (where ${assignments.kind} = 'active' and ${assignments.endsAt} is not null and ${inForce})::int`,
    })
    .from(roles)
    .leftJoin(assignments, eq(assignments.roleId, roles.id))
    .where(isNull(roles.retiredAt))
    .groupBy(roles.id, roles.name)
    .orderBy(roles.name);
}

/** How many activations of each role are active now, by role id (roles with none are absent). */
export async function activeActivationsByRole(tx: Executor): Promise<Map<string, number>> {
  const active = await tx
    .select({ roleId: activations.roleId, n: sql<number>`count(*)::int` })
    .from(activations)
    .where(eq(activations.status, "active"))
    .groupBy(activations.roleId);
  return new Map(active.map((a) => [a.roleId, a.n]));
}
