/**
 * PIM for Groups. A privileged group's membership and its ownership are each kept as a role of
 * their own, so one engine activates, approves, grants, ends and reviews them like any other
 * role: holding `group:<key>:member` is being a member of the group, `group:<key>:owner` an owner.
 */
export type GroupAccess = "member" | "owner";

/** Marks a role that stands for membership or ownership of a privileged group. */
export interface GroupMarker {
  key: string;
  access: GroupAccess;
}

export function groupRoleKey(groupKey: string, access: GroupAccess): string {
  return `group:${groupKey}:${access}`;
}

export function groupMarkerOf(roleKey: string): GroupMarker | null {
  const match = /^group:([a-z0-9][a-z0-9._-]*):(member|owner)$/.exec(roleKey);
  return match ? { key: match[1]!, access: match[2] as GroupAccess } : null;
}

/** How chat and the audit name such a role: "Group membership: DBAs". */
export function groupRoleName(groupName: string, access: GroupAccess): string {
  return `${access === "member" ? "Group membership" : "Group ownership"}: ${groupName}`;
}

interface Holding {
  role: string;
  kind: "eligible" | "active";
  since: Date;
}

/**
 * What users reach through memberships of privileged groups: for each membership a user holds
 * or may activate (a holding of `group:<key>:member`), each role the group holds, eligible
 * unless both the membership and the group's assignment are active.
 */
export function reachedThroughMemberships<U extends Holding & { user: string }>(
  users: U[],
  groups: (Holding & { group: string })[],
): (Holding & { user: string })[] {
  return users.flatMap((membership) => {
    const marker = groupMarkerOf(membership.role);
    if (marker?.access !== "member") return [];
    return groups
      .filter((g) => g.group === marker.key)
      .map((g) => ({
        user: membership.user,
        role: g.role,
        kind: membership.kind === "active" && g.kind === "active" ? ("active" as const) : ("eligible" as const),
        since: membership.since > g.since ? membership.since : g.since,
      }));
  });
}
