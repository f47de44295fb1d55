import type { Executor } from "../../db/client.js";
import { adminIds, expandToUsers, groupRoleList, principalIdsByKeys, type Role } from "../../db/repos/directory.js";
import { ownersOf } from "../../db/repos/group-access.js";
import { effectiveApprovers } from "../../domain/approval.js";

/**
 * Who may decide a role's activations for this requester, as of `now`. A privileged group's
 * owners (declared, or holding its ownership now) approve its membership requests.
 */
export async function approversFor(tx: Executor, role: Role, requesterId: string, now: Date): Promise<Set<string>> {
  const named = await expandToUsers(tx, await principalIdsByKeys(tx, role.policy.activation.approvers));
  if (role.groupAccess === "member" && role.groupId !== null)
    for (const owner of await ownersOf(tx, await groupRoleList(tx), role.groupId, now, (ids) => expandToUsers(tx, ids)))
      named.add(owner);
  return effectiveApprovers(named, await adminIds(tx), requesterId);
}
