import type { Executor } from "../../db/client.js";
import type { Role } from "../../db/repos/directory.js";
import { audienceFor } from "../notices/activity.js";

/**
 * Who hears of an assignment made, changed or removed: the audiences the role's
 * `notifications.assignment` names, `requester` standing for the holder (a user; a group's
 * members are not told one by one).
 */
export async function assignmentAudience(
  db: Executor,
  role: Role,
  holderId: string,
): Promise<{ ids: string[]; alertChannel: boolean }> {
  const audience = await audienceFor(db, role, "assignment", { requesterId: holderId, critical: role.critical });
  return { ids: audience.people.map((p) => p.id), alertChannel: audience.alertChannel };
}
