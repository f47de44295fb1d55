/**
 * PIM for Groups in pim.yaml: each privileged group brings two roles of its own, its membership
 * and its ownership (see domain/group-roles.ts), which the rest of the file and the engine treat
 * like the roles declared under `roles`.
 */
import { type GroupAccess, type GroupMarker, groupRoleKey, groupRoleName } from "../domain/group-roles.js";
import type { PimFile } from "./pim-file-schema.js";

type FileRole = PimFile["roles"][number];

/** A role the file declares or a privileged group brings, with where its policy is written. */
export interface DeclaredRole {
  role: FileRole;
  group: GroupMarker | null;
  policyPath: (string | number)[];
}

export function declaredRoles(file: PimFile): DeclaredRole[] {
  return [
    ...file.roles.map((role, i) => ({ role, group: null, policyPath: ["roles", i, "policy"] })),
    ...file.groups.flatMap((group, i) =>
      group.privileged ? (["member", "owner"] as const).map((access) => groupRole(group, i, access)) : [],
    ),
  ];
}

function groupRole(group: PimFile["groups"][number], index: number, access: GroupAccess): DeclaredRole {
  const member = access === "member";
  return {
    role: {
      key: groupRoleKey(group.key, access),
      name: groupRoleName(group.name, access),
      description: group.description,
      // Ownership is pim-bot's own business (it approves members); only membership reaches a target.
      connector: member ? group.connector : { type: "log" },
      scopes: ["/"],
      notify: false,
      critical: false,
      policy: member ? group.policy : group.ownerPolicy,
    },
    group: { key: group.key, access },
    policyPath: ["groups", index, member ? "policy" : "ownerPolicy"],
  };
}
