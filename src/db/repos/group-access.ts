import { and, eq, inArray, isNotNull } from "drizzle-orm";
import type { HeldAssignment } from "../../domain/eligibility.js";
import { isInForce } from "../../domain/eligibility.js";
import type { GroupAccess } from "../../domain/group-roles.js";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { assignments } from "../schema/assignments.js";
import { groupMembers } from "../schema/principals.js";
import { roles } from "../schema/roles.js";

/**
 * PIM for Groups, read side. Membership or ownership of a privileged group is held as a role (see
 * domain/group-roles.ts); these reads turn such holdings back into "who is in which group now".
 */

/** The roles that stand for membership or ownership of privileged groups (kept per directory version). */
export interface GroupRole {
  id: string;
  groupId: string;
  access: GroupAccess;
}

/** Reads the group roles; directory.ts keeps what it reads per directory version. */
export async function loadGroupRoles(db: Executor): Promise<GroupRole[]> {
  const rows = await db
    .select({ id: roles.id, groupId: roles.groupId, access: roles.groupAccess })
    .from(roles)
    .where(isNotNull(roles.groupId));
  return rows.flatMap((r) => (r.groupId && r.access ? [{ id: r.id, groupId: r.groupId, access: r.access }] : []));
}

/** Which of these principals are privileged groups (groups whose membership is a role). */
export function privilegedGroups(groupRoles: GroupRole[], principalIds: string[]): Set<string> {
  const groups = new Set(groupRoles.map((r) => r.groupId));
  return new Set(principalIds.filter((id) => groups.has(id)));
}

/** One person's hold on a privileged group: through an activation or an active assignment. */
export interface GroupHold {
  principalId: string;
  groupId: string;
  /** The role that stands for the membership or ownership. */
  roleId: string;
  via: { kind: "activation" | "assignment"; id: string };
  startsAt: Date | null;
  endsAt: Date | null;
}

/**
 * Holds of `access` on privileged groups by these principals: activations in one of `statuses`,
 * and active assignments (whatever their window; callers decide with isInForce).
 */
export async function groupHolds(
  db: Executor,
  groupRoles: GroupRole[],
  principalIds: string[] | "everyone",
  access: GroupAccess,
  statuses: readonly string[],
): Promise<GroupHold[]> {
  const wanted = groupRoles.filter((r) => r.access === access);
  if (principalIds.length === 0 || wanted.length === 0) return [];
  const groupOf = new Map(wanted.map((r) => [r.id, r.groupId]));
  const roleIds = [...groupOf.keys()];
  const ids = principalIds === "everyone" ? null : [...new Set(principalIds)];
  const [acts, asgs] = await Promise.all([
    db
      .select({
        id: activations.id,
        principalId: activations.principalId,
        roleId: activations.roleId,
        startsAt: activations.activatedAt,
        endsAt: activations.endsAt,
      })
      .from(activations)
      .where(
        and(
          ids === null ? undefined : inArray(activations.principalId, ids),
          inArray(activations.roleId, roleIds),
          inArray(activations.status, [...statuses]),
        ),
      ),
    db
      .select({
        id: assignments.id,
        principalId: assignments.principalId,
        roleId: assignments.roleId,
        startsAt: assignments.startsAt,
        endsAt: assignments.endsAt,
      })
      .from(assignments)
      .where(
        and(
          ids === null ? undefined : inArray(assignments.principalId, ids),
          inArray(assignments.roleId, roleIds),
          eq(assignments.kind, "active"),
        ),
      ),
  ]);
  const hold =
    (kind: "activation" | "assignment") =>
    (r: (typeof acts)[number]): GroupHold => ({ ...r, groupId: groupOf.get(r.roleId)!, via: { kind, id: r.id } });
  return [...acts.map(hold("activation")), ...asgs.map(hold("assignment"))];
}

type AssignmentRow = typeof assignments.$inferSelect;

/** The assignments these groups hold (of one kind, or both). */
export async function assignmentsOfGroups(
  db: Executor,
  groupIds: string[],
  filter: { kind?: "eligible" | "active"; roleIds?: string[] } = {},
): Promise<AssignmentRow[]> {
  if (groupIds.length === 0) return [];
  return db
    .select()
    .from(assignments)
    .where(
      and(
        inArray(assignments.principalId, [...new Set(groupIds)]),
        filter.kind ? eq(assignments.kind, filter.kind) : undefined,
        filter.roleIds ? inArray(assignments.roleId, filter.roleIds) : undefined,
      ),
    );
}

/**
 * What a user holds through active membership of privileged groups: the groups' assignments,
 * each lasting no longer than the membership that brings it (so an eligibility through a group
 * is honoured only while the membership lasts). `parentsOf` gives the groups a group is in.
 */
export async function heldThroughMembership(
  db: Executor,
  groupRoles: GroupRole[],
  userId: string,
  roleIds: string[] | undefined,
  parentsOf: (groupId: string) => Promise<string[]>,
): Promise<HeldAssignment[]> {
  const holds = await groupHolds(db, groupRoles, [userId], "member", ["active"]);
  if (holds.length === 0) return [];
  const reach = await Promise.all(
    holds.map(async (h) => ({ hold: h, groups: [h.groupId, ...(await parentsOf(h.groupId))] })),
  );
  const rows = await assignmentsOfGroups(
    db,
    reach.flatMap((r) => r.groups),
    roleIds ? { roleIds } : {},
  );
  return reach.flatMap(({ hold, groups }) =>
    rows
      .filter((r) => groups.includes(r.principalId))
      .map((r) => ({
        id: r.id,
        roleId: r.roleId,
        scope: r.scope,
        kind: r.kind,
        startsAt: later(r.startsAt, hold.startsAt),
        endsAt: earlier(r.endsAt, hold.endsAt),
        viaGroupId: hold.groupId,
      })),
  );
}

/** A reason a principal holds a role on a target through a group's active assignment. */
export interface MembershipReason {
  /** The membership, then the group's assignment it brings: "activation act_…/asg_…". */
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
}

/**
 * Holdings these principals must have through privileged groups they are members of now (an
 * activation being granted or active, an active assignment in force): each active assignment
 * in force of the group. The reference count of a holding includes them.
 */
export async function membershipReasons(
  db: Executor,
  groupRoles: GroupRole[],
  principalIds: string[] | "everyone",
  holdingStatuses: readonly string[],
  now: Date,
): Promise<MembershipReason[]> {
  const holds = (await groupHolds(db, groupRoles, principalIds, "member", holdingStatuses)).filter(
    (h) => h.via.kind === "activation" || isInForce(h, now),
  );
  if (holds.length === 0) return [];
  const rows = (
    await assignmentsOfGroups(
      db,
      holds.map((h) => h.groupId),
      { kind: "active" },
    )
  ).filter((a) => isInForce(a, now));
  return holds.flatMap((h) =>
    rows
      .filter((a) => a.principalId === h.groupId)
      .map((a) => ({
        id: `${h.via.kind} ${h.via.id}/${a.id}`,
        principalId: h.principalId,
        roleId: a.roleId,
        scope: a.scope,
      })),
  );
}

/** Who owns a privileged group now: declared owners, and holders of its ownership role. */
export async function ownersOf(
  db: Executor,
  groupRoles: GroupRole[],
  groupId: string,
  now: Date,
  expand: (principalIds: string[]) => Promise<Set<string>>,
): Promise<Set<string>> {
  const ownership = groupRoles.filter((r) => r.groupId === groupId);
  const [declared, holds] = await Promise.all([
    db
      .select({ id: groupMembers.memberId })
      .from(groupMembers)
      .where(and(eq(groupMembers.groupId, groupId), eq(groupMembers.relation, "owner"))),
    groupHolds(db, ownership, "everyone", "owner", ["active"]),
  ]);
  const holders = holds.filter((h) => h.via.kind === "activation" || isInForce(h, now)).map((h) => h.principalId);
  return expand([...declared.map((d) => d.id), ...holders]);
}

function later(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

function earlier(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}
