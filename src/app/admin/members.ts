import { activeActivationsOfRole, assignmentsOfRole, listAssignments } from "../../db/repos/assignments.js";
import { expandToUsers, principalByKey, roleByKeyOrName } from "../../db/repos/directory.js";
import { isInForce } from "../../domain/eligibility.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { scopeCovers } from "../../domain/scope.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAuditReader, refuseAdministration } from "./administrators.js";

export interface MemberView {
  assignmentId: string;
  principal: { id: string; key: string; name: string; kind: "user" | "group" };
  kind: "eligible" | "active";
  scope: string;
  startsAt: Date | null;
  /** null: permanent. */
  endsAt: Date | null;
  /** Where the assignment came from: file (pim.yaml), chat or cli. */
  source: string;
  createdBy: string | null;
  /** Whether the assignment is in force now (started, not ended). */
  inForce: boolean;
  /** Whether the role is held active now through it: an active assignment in force, or an activation it backs. */
  activeNow: boolean;
  /** Activations it backs that are active now (an administrator may revoke them). */
  activationIds: string[];
}

export interface RoleMembers {
  role: { id: string; key: string; name: string };
  members: MemberView[];
  /** Administrators may change and remove; auditors only look. */
  canChange: boolean;
}

/**
 * Members of a role, for administrators and auditors: each assignment with its holder, kind,
 * scope, end, source, and whether the role is active now through it.
 */
export async function roleMembers(
  deps: EngineDeps,
  actor: Actor,
  roleText: string,
): Promise<Result<RoleMembers, Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "role.members");
    if (!reader.ok) return reader;
    const role = await roleByKeyOrName(work.tx, roleText.trim());
    if (!role) {
      const refusal = refuse("UNKNOWN_ROLE", `There is no role "${roleText.slice(0, 60)}".`);
      refuseAdministration(work, reader.value.key, "role.members", refusal);
      return err(refusal);
    }
    const [rows, live] = await Promise.all([
      assignmentsOfRole(work.tx, role.id),
      activeActivationsOfRole(work.tx, role.id),
    ]);
    const members: MemberView[] = [];
    for (const { assignment: a, principal } of rows) {
      const users = principal.kind === "user" ? new Set([principal.id]) : await expandToUsers(work.tx, [principal.id]);
      const inForce = isInForce(a, work.now);
      const backed =
        a.kind === "eligible" && inForce
          ? live.filter((x) => users.has(x.principalId) && scopeCovers(a.scope, x.scope)).map((x) => x.id)
          : [];
      members.push({
        assignmentId: a.id,
        principal,
        kind: a.kind,
        scope: a.scope,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        source: a.source,
        createdBy: a.createdBy,
        inForce,
        activeNow: (a.kind === "active" && inForce) || backed.length > 0,
        activationIds: backed,
      });
    }
    return ok({
      role: { id: role.id, key: role.key, name: role.name },
      members,
      canChange: reader.value.basis !== "auditor",
    });
  });
}

export interface AssignmentListItem {
  id: string;
  principal: { key: string; name: string; kind: "user" | "group" };
  role: { key: string; name: string };
  kind: "eligible" | "active";
  scope: string;
  startsAt: Date | null;
  endsAt: Date | null;
  source: string;
  inForce: boolean;
}

/** Every assignment, of one holder or one role when named (administrators and auditors). */
export async function listAllAssignments(
  deps: EngineDeps,
  actor: Actor,
  filter: { principal?: string; role?: string } = {},
): Promise<Result<AssignmentListItem[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "assignment.list");
    if (!reader.ok) return reader;
    const principal = filter.principal ? await principalByKey(work.tx, filter.principal) : undefined;
    if (filter.principal && !principal)
      return err(refuse("UNKNOWN_PRINCIPAL", `There is no user or group "${filter.principal.slice(0, 60)}".`));
    const role = filter.role ? await roleByKeyOrName(work.tx, filter.role) : undefined;
    if (filter.role && !role) return err(refuse("UNKNOWN_ROLE", `There is no role "${filter.role.slice(0, 60)}".`));
    const rows = await listAssignments(work.tx, { principalId: principal?.id, roleId: role?.id });
    return ok(
      rows.map(({ assignment: a, principal: p, role: r }) => ({
        id: a.id,
        principal: { key: p.key, name: p.name, kind: p.kind },
        role: r,
        kind: a.kind,
        scope: a.scope,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        source: a.source,
        inForce: isInForce(a, work.now),
      })),
    );
  });
}
