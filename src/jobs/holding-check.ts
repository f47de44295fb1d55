import { type Connector, targetKeyOf } from "../connectors/connector.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import type { Executor } from "../db/client.js";
import { groupRoleList, type RoleTarget } from "../db/repos/directory.js";
import { membershipReasons } from "../db/repos/group-access.js";
import { findAssignmentsInForce, findHoldingActivations } from "../db/repos/holdings.js";
import { HOLDING_STATUSES } from "../domain/activation.js";

/** A holding the database says must exist on a target now. */
export interface Reason {
  /** "membership": through a privileged group's active assignment, while the person is its member. */
  kind: "activation" | "assignment" | "membership";
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
}

/**
 * Every reason the given principals hold something now: activations being granted or active,
 * active assignments in force, and the active assignments of privileged groups they are members of. An `activating` one counts, because its grant is about to run (and
 * a grant that fails for good is followed by a revoke that looks again).
 */
export async function reasonsHeld(db: Executor, principalIds: string[], now: Date): Promise<Reason[]> {
  if (principalIds.length === 0) return [];
  const ids = [...new Set(principalIds)];
  const [acts, asgs, memberships] = await Promise.all([
    findHoldingActivations(db, ids),
    findAssignmentsInForce(db, ids, now),
    groupRoleList(db).then((groupRoles) => membershipReasons(db, groupRoles, ids, HOLDING_STATUSES, now)),
  ]);
  return [
    ...acts.map((a) => ({ kind: "activation" as const, ...a })),
    ...asgs.map((a) => ({ kind: "assignment" as const, ...a })),
    ...memberships.map((m) => ({ kind: "membership" as const, ...m })),
  ];
}

/** What a revoke is about, with the reasons it itself stands for excluded. */
export interface RevokeSubject {
  principalId: string;
  login: string;
  roleId: string;
  scope: string;
  exceptActivationId: string | null;
  exceptAssignmentId: string | null;
  /** Reasons brought by this group membership ("activation act_…") are left out too. */
  exceptMembership?: string;
}

/**
 * Reference counting of holdings: the reason, if any, that the target must keep what a revoke
 * would take away. Another reason counts when it lands on the same grant on the same target:
 * the same connector and the same target key (for a PostgreSQL role, any scope of the same login;
 * two PIM roles may even share one target role).
 */
export function keepingReason(
  subject: RevokeSubject,
  reasons: Reason[],
  rolesById: Map<string, RoleTarget>,
  connectorOf: (role: RoleTarget) => Connector | undefined,
): string | undefined {
  const role = rolesById.get(subject.roleId);
  if (!role) return undefined;
  const connector = connectorOf(role);
  if (!connector) return undefined;
  const key = targetKeyOf(connector, { login: subject.login, roleKey: role.key, scope: subject.scope });
  for (const r of reasons) {
    if (r.principalId !== subject.principalId) continue;
    if (r.kind === "activation" && r.id === subject.exceptActivationId) continue;
    if (r.kind === "assignment" && r.id === subject.exceptAssignmentId) continue;
    if (r.kind === "membership" && subject.exceptMembership && r.id.startsWith(`${subject.exceptMembership}/`))
      continue;
    const other = rolesById.get(r.roleId);
    if (!other || connectorOf(other) !== connector) continue;
    if (targetKeyOf(connector, { login: subject.login, roleKey: other.key, scope: r.scope }) === key)
      return `${r.kind} ${r.id}`;
  }
  return undefined;
}

/** The connector of a role, or undefined when its settings name no available connector. */
export function connectorLookup(registry: ConnectorRegistry): (role: RoleTarget) => Connector | undefined {
  return (role) => {
    try {
      return registry.forRole(role);
    } catch {
      return undefined;
    }
  };
}
