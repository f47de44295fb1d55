import type { Executor } from "../../db/client.js";
import { activeActivationsByRole, assignmentCountsByRole } from "../../db/repos/dashboard.js";
import type { RoleAssignmentCounts } from "../../domain/request-view.js";

export type { RoleAssignmentCounts };

/** The admin's dashboard counts on the home tab: per role, eligible against standing access. */
export async function assignmentCounts(db: Executor, now: Date): Promise<RoleAssignmentCounts[]> {
  const rows = await assignmentCountsByRole(db, now);
  const activeByRole = await activeActivationsByRole(db);
  return rows.map((r) => ({ ...r, activeNow: activeByRole.get(r.roleId) ?? 0 }));
}
