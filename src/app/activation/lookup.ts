import type { Executor } from "../../db/client.js";
import { getActivation, type StoredActivation } from "../../db/repos/activations.js";
import { type Role, rolesByIds } from "../../db/repos/directory.js";

/** An activation with its role, for chat's forms about it (extend). */
export async function activationWithRole(
  db: Executor,
  activationId: string,
): Promise<{ activation: StoredActivation; role: Role } | undefined> {
  const activation = await getActivation(db, activationId);
  if (!activation) return undefined;
  const role = (await rolesByIds(db, [activation.roleId])).get(activation.roleId);
  return role ? { activation, role } : undefined;
}
