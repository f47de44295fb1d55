import { eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { activations } from "../db/schema/activations.js";
import { assignments } from "../db/schema/assignments.js";
import { roles } from "../db/schema/roles.js";

import type { RoleAssignmentCounts } from "../domain/request-view.js";

export type { RoleAssignmentCounts };

/** The admin's dashboard counts on the home tab: per role, eligible against standing access. */
export async function assignmentCounts(db: Executor, now: Date): Promise<RoleAssignmentCounts[]> {
  // A raw template does not map a Date the way a column does; postgres.js takes the ISO text.
  const at = now.toISOString();
  const inForce = sql`(${assignments.startsAt} is null or ${assignments.startsAt} <= ${at}) and (${assignments.endsAt} is null or ${assignments.endsAt} > ${at})`;
  const rows = await db
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
  const active = await db
    .select({ roleId: activations.roleId, n: sql<number>`count(*)::int` })
    .from(activations)
    .where(eq(activations.status, "active"))
    .groupBy(activations.roleId);
  const activeByRole = new Map(active.map((a) => [a.roleId, a.n]));
  return rows.map((r) => ({ ...r, activeNow: activeByRole.get(r.roleId) ?? 0 }));
}
