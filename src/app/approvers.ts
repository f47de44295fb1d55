import type { Executor } from "../db/client.js";
import { adminIds, expandToUsers, principalIdsByKeys, type Role } from "../db/repos/directory.js";
import { effectiveApprovers } from "../domain/approval.js";

/** Who may decide a role's activations for this requester, as of now. */
export async function approversFor(tx: Executor, role: Role, requesterId: string): Promise<Set<string>> {
  const named = await expandToUsers(tx, await principalIdsByKeys(tx, role.policy.activation.approvers));
  return effectiveApprovers(named, await adminIds(tx), requesterId);
}
