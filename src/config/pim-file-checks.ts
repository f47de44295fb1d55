/**
 * Checks between the sections of pim.yaml once each section has the right shape: references
 * that name nothing, duplicates, loops in managers and groups, and role policies that cannot
 * work once defaults and the role's own settings are layered.
 */
import { formatDuration } from "../domain/duration.js";
import { groupMarkerOf, groupRoleKey } from "../domain/group-roles.js";
import { BUILT_IN_POLICY, type Policy, resolvePolicy } from "../domain/policy.js";
import { scopeCovers } from "../domain/scope.js";
import { type DeclaredRole, declaredRoles } from "./pim-file-groups.js";
import { didYouMean } from "./pim-file-messages.js";
import { checkReviews } from "./pim-file-reviews.js";
import type { PimFile } from "./pim-file-schema.js";

export type IssuePath = (string | number)[];
export interface FileIssue {
  path: IssuePath;
  message: string;
}

type Report = (path: IssuePath, message: string) => void;
type Role = PimFile["roles"][number];
type Assignment = PimFile["assignments"][number];

/** The names the checks look up, and where they report. */
interface Directory {
  file: PimFile;
  users: Set<string>;
  groups: Map<string, string[]>;
  scopes: Set<string>;
  /** The file's roles, then those its privileged groups bring. */
  declared: DeclaredRole[];
  roles: Map<string, number>;
  policies: Policy[];
  report: Report;
}

/** `roles[3].policy.activation`; an empty path is the file itself. */
export function formatPath(path: IssuePath): string {
  if (path.length === 0) return "(file)";
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}

/**
 * The policy a role runs under: built-in, then `defaults`, then the role's own override. A role
 * routed to a channel without naming one uses the approvals channels from `channels`.
 */
export function resolveRolePolicy(file: PimFile, role: Role): Policy {
  const policy = resolvePolicy(BUILT_IN_POLICY, file.defaults, role.policy);
  const activation = policy.activation;
  if (activation.approvalRouting !== "channel") return policy;
  const slack = activation.approvalChannel?.slack ?? file.channels.slack.approvals;
  const teams = activation.approvalChannel?.teams ?? file.channels.teams.approvals;
  const approvalChannel = { ...(slack ? { slack } : {}), ...(teams ? { teams } : {}) };
  return { ...policy, activation: { ...activation, approvalChannel: slack || teams ? approvalChannel : null } };
}

export function checkReferences(file: PimFile): FileIssue[] {
  const issues: FileIssue[] = [];
  const declared = declaredRoles(file);
  const directory: Directory = {
    file,
    users: new Set(file.users.map((u) => u.key)),
    groups: new Map(file.groups.map((g) => [g.key, g.members])),
    scopes: new Set(["/", ...file.scopes.map((s) => s.path)]),
    declared,
    roles: new Map(declared.map((d, i) => [d.role.key, i])),
    policies: declared.map((d) => resolveRolePolicy(file, d.role)),
    report: (path, message) => issues.push({ path, message }),
  };
  checkDuplicates(directory);
  checkManagers(directory);
  checkGroups(directory);
  checkPolicyReferences(directory, ["defaults"], file.defaults);
  declared.forEach(({ role, group, policyPath }, i) => {
    checkPolicyReferences(directory, policyPath, role.policy);
    if (!group) checkRoleScopes(directory, role, i);
    checkResolvedPolicy(directory, i);
  });
  file.assignments.forEach((assignment, i) => {
    checkAssignment(directory, assignment, i);
  });
  checkBreakGlass(directory);
  checkAdministration(directory);
  checkReviewedMemberships(directory);
  checkReviews(
    file.reviews,
    { users: directory.users, groups: new Set(directory.groups.keys()), roles: new Set(directory.roles.keys()) },
    directory.report,
  );
  return issues;
}

// ── duplicates ─────────────────────────────────────────────────────────────────────────────

function checkDuplicates({ file, report }: Directory): void {
  const unique = (entries: { path: IssuePath; value: string | null }[]) => {
    const firstSeen = new Map<string, IssuePath>();
    for (const { path, value } of entries) {
      if (value === null) continue;
      const first = firstSeen.get(value.toLowerCase());
      if (first) report(path, `"${value}" is already used by ${formatPath(first.slice(0, 2))}`);
      else firstSeen.set(value.toLowerCase(), path);
    }
  };
  const ofUsers = (field: "key" | "email" | "slackId" | "teamsId") =>
    file.users.map((u, i) => ({ path: ["users", i, field], value: u[field] }));
  unique([...ofUsers("key"), ...file.groups.map((g, i) => ({ path: ["groups", i, "key"], value: g.key }))]);
  unique(ofUsers("email"));
  unique(ofUsers("slackId"));
  unique(ofUsers("teamsId"));
  unique(file.groups.map((g, i) => ({ path: ["groups", i, "name"], value: g.name })));
  unique(file.scopes.map((s, i) => ({ path: ["scopes", i, "path"], value: s.path })));
  unique(file.roles.map((r, i) => ({ path: ["roles", i, "key"], value: r.key })));
  unique(file.roles.map((r, i) => ({ path: ["roles", i, "name"], value: r.name })));

  const seen = new Map<string, number>();
  file.assignments.forEach((a, i) => {
    const identity = JSON.stringify([a.principal, a.role, a.scope, a.kind, a.start, a.end]);
    const first = seen.get(identity);
    if (first === undefined) seen.set(identity, i);
    else report(["assignments", i], `repeats assignments[${first}]`);
  });
}

// ── principals ─────────────────────────────────────────────────────────────────────────────

function unknownPrincipal(d: Directory, name: string): string {
  return `unknown user or group "${name}"${didYouMean(name, [...d.users, ...d.groups.keys()])}`;
}

/** Why `name` is not a user, or null when it is one. */
function notAUser(d: Directory, name: string, what: string): string | null {
  if (d.users.has(name)) return null;
  if (d.groups.has(name)) return `"${name}" is a group; ${what} must be a user`;
  return `unknown user "${name}"${didYouMean(name, d.users)}`;
}

function checkManagers(d: Directory): void {
  const managerOf = new Map(d.file.users.map((u) => [u.key, u.manager]));
  const inReportedLoop = new Set<string>();
  d.file.users.forEach((user, i) => {
    const path = ["users", i, "manager"];
    const problem =
      user.manager === null
        ? null
        : user.manager === user.key
          ? "cannot be the user themself"
          : notAUser(d, user.manager, "a manager");
    if (problem) d.report(path, problem);
    if (user.manager === null || problem) return;

    const chain = [user.key];
    let next: string | null | undefined = user.manager;
    while (next && !chain.includes(next)) {
      chain.push(next);
      next = managerOf.get(next);
    }
    if (next === user.key && !chain.some((k) => inReportedLoop.has(k))) {
      for (const k of chain) inReportedLoop.add(k);
      d.report(path, `managers form a loop: ${[...chain, user.key].join(" → ")}`);
    }
  });
}

function checkGroups(d: Directory): void {
  const inReportedLoop = new Set<string>();
  d.file.groups.forEach((group, i) => {
    if (group.privileged && group.members.length > 0)
      d.report(
        ["groups", i, "members"],
        `a privileged group's members are assigned, not listed: use assignments with group: ${group.key} (kind: active for standing membership)`,
      );
    group.members.forEach((member, j) => {
      const path = ["groups", i, "members", j];
      if (member === group.key) d.report(path, "a group cannot be a member of itself");
      else if (!d.users.has(member) && !d.groups.has(member)) d.report(path, unknownPrincipal(d, member));
    });
    group.owners.forEach((owner, j) => {
      const problem = notAUser(d, owner, "an owner");
      if (problem) d.report(["groups", i, "owners", j], problem);
    });

    const loop = findGroupLoop(d, group.key);
    if (loop && !loop.some((k) => inReportedLoop.has(k))) {
      for (const k of loop) inReportedLoop.add(k);
      const j = group.members.indexOf(loop[1]!);
      d.report(["groups", i, "members", j], `groups contain each other in a loop: ${loop.join(" → ")}`);
    }
  });
}

/** A path of group memberships from `start` back to itself (length ≥ 2 groups), or null. */
function findGroupLoop(d: Directory, start: string): string[] | null {
  const visited = new Set<string>();
  const search = (group: string, trail: string[]): string[] | null => {
    for (const member of d.groups.get(group) ?? []) {
      if (!d.groups.has(member) || member === group) continue;
      if (member === start) return [...trail, start];
      if (visited.has(member)) continue;
      visited.add(member);
      const found = search(member, [...trail, member]);
      if (found) return found;
    }
    return null;
  };
  return search(start, [start]);
}

/** Every user reachable from a list of user and group keys, through nested groups. */
function expandToUsers(d: Directory, principals: string[]): Set<string> {
  const users = new Set<string>();
  const seenGroups = new Set<string>();
  const visit = (name: string) => {
    if (d.users.has(name)) users.add(name);
    else if (d.groups.has(name) && !seenGroups.has(name)) {
      seenGroups.add(name);
      for (const member of d.groups.get(name) ?? []) visit(member);
    }
  };
  for (const name of principals) visit(name);
  return users;
}

// ── roles and their policies ───────────────────────────────────────────────────────────────

function checkPolicyReferences(d: Directory, at: IssuePath, policy: PimFile["defaults"]): void {
  policy.activation?.approvers?.forEach((approver, j) => {
    if (!d.users.has(approver) && !d.groups.has(approver))
      d.report([...at, "activation", "approvers", j], unknownPrincipal(d, approver));
  });
  for (const event of ["activation", "assignment", "approval"] as const) {
    policy.notifications?.[event]?.forEach((recipient, j) => {
      const [kind, name] = recipient.split(":") as [string, string | undefined];
      if (name === undefined) return;
      const known = kind === "user" ? d.users : new Set(d.groups.keys());
      if (!known.has(name))
        d.report([...at, "notifications", event, j], `unknown ${kind} "${name}"${didYouMean(name, known)}`);
    });
  }
}

function checkRoleScopes(d: Directory, role: Role, i: number): void {
  role.scopes.forEach((scope, j) => {
    if (!d.scopes.has(scope)) d.report(["roles", i, "scopes", j], unknownScope(d, scope));
  });
}

function unknownScope(d: Directory, scope: string): string {
  return `unknown scope "${scope}"${didYouMean(scope, d.scopes)}; declare it under scopes`;
}

function checkResolvedPolicy(d: Directory, i: number): void {
  const { activation } = d.policies[i]!;
  const { role, group, policyPath } = d.declared[i]!;
  const own = role.policy.activation ?? {};
  const inherited = d.file.defaults.activation ?? {};
  /** Reports at the role's setting, saying so when the role only inherits the settings at fault. */
  const report = (field: string, message: string, causes: (keyof typeof activation)[]) => {
    const fromDefaults = causes.every((c) => own[c] === undefined) && causes.some((c) => inherited[c] !== undefined);
    d.report([...policyPath, "activation", field], fromDefaults ? `${message} (inherited from defaults)` : message);
  };

  if (activation.requireMfa && activation.mfaMethods.length === 0)
    report("mfaMethods", "requires MFA but allows no MFA method", ["requireMfa", "mfaMethods"]);
  // A group's owners approve its membership requests, whoever else is named.
  const ownersApprove = group?.access === "member" && hasOwners(d, group.key);
  if (activation.requireApproval && activation.approvers.length === 0 && !ownersApprove)
    report("approvers", "requires approval but names no approvers", ["requireApproval", "approvers"]);
  if (activation.approvers.length > 0 && !ownersApprove) {
    const reachable = expandToUsers(d, activation.approvers).size;
    if (activation.approvalsNeeded > reachable) {
      const named = reachable === 1 ? "only 1 approver is named" : `only ${reachable} approvers are named`;
      const message = `needs ${plural(activation.approvalsNeeded, "approval")} but ${named}`;
      report("approvalsNeeded", message, ["approvalsNeeded", "approvers"]);
    }
  }
  if (activation.approvalRouting === "channel" && activation.approvalChannel === null) {
    const message = 'is required when approvalRouting is "channel" (or set channels.*.approvals)';
    report("approvalChannel", message, ["approvalRouting", "approvalChannel"]);
  }
  const { ticketPattern, ticketExample } = activation;
  if (ticketPattern !== null && ticketExample !== null && !new RegExp(`^(?:${ticketPattern})$`).test(ticketExample)) {
    const message = `"${ticketExample}" does not match ticketPattern ${ticketPattern}`;
    report("ticketExample", message, ["ticketPattern", "ticketExample"]);
  }
}

// ── assignments and break-glass ────────────────────────────────────────────────────────────

function checkAssignment(d: Directory, a: Assignment, i: number): void {
  const at = (field: string): IssuePath => ["assignments", i, field];
  if (!d.users.has(a.principal) && !d.groups.has(a.principal))
    d.report(at("principal"), unknownPrincipal(d, a.principal));

  const marker = groupMarkerOf(a.role);
  if (marker) {
    checkGroupAssignment(d, a, marker.key, at);
    if (!d.roles.has(a.role)) return;
  }
  const roleIndex = d.roles.get(a.role);
  if (roleIndex === undefined) {
    d.report(at("role"), `unknown role "${a.role}"${didYouMean(a.role, d.roles.keys())}`);
    return;
  }
  const role = d.declared[roleIndex]!.role;
  if (!d.scopes.has(a.scope)) d.report(at("scope"), unknownScope(d, a.scope));
  else if (!role.scopes.some((scope) => scopeCovers(scope, a.scope)))
    d.report(at("scope"), `is outside role "${role.key}", which applies at ${role.scopes.join(", ")}`);

  if (d.file.breakGlass.includes(a.principal) && d.users.has(a.principal)) return;
  const { assignment: rules } = d.policies[roleIndex]!;
  const eligible = a.kind === "eligible";
  const allowPermanent = eligible ? rules.allowPermanentEligible : rules.allowPermanentActive;
  const maxMs = eligible ? rules.maxEligibleDurationMs : rules.maxActiveDurationMs;
  if (a.end === null && !allowPermanent)
    d.report(at("end"), `is required: role "${role.key}" does not allow permanent ${a.kind} assignments`);
  if (a.start !== null && a.end !== null && a.end.getTime() - a.start.getTime() > maxMs) {
    const length = formatDuration(a.end.getTime() - a.start.getTime());
    d.report(
      at("end"),
      `makes the assignment last ${length}, but role "${role.key}" allows ${a.kind} assignments of at most ${formatDuration(maxMs)}`,
    );
  }
  if (!eligible && rules.requireJustificationOnActive && a.justification === null)
    d.report(at("justification"), `is required: role "${role.key}" requires a justification for active assignments`);
}

/** Membership or ownership of a group: the group must be privileged, the holder a user or a plain group. */
function checkGroupAssignment(d: Directory, a: Assignment, groupKey: string, at: (field: string) => IssuePath) {
  const group = d.file.groups.find((g) => g.key === groupKey);
  if (!group) d.report(at("group"), `unknown group "${groupKey}"${didYouMean(groupKey, d.groups.keys())}`);
  else if (!group.privileged)
    d.report(
      at("group"),
      `"${groupKey}" is not a privileged group; add privileged: true to it to assign its membership`,
    );
  if (a.principal === groupKey) d.report(at("principal"), "a group cannot be a member or owner of itself");
  else if (d.file.groups.some((g) => g.key === a.principal && g.privileged))
    d.report(
      at("principal"),
      `"${a.principal}" is a privileged group; only users and other groups may hold a group's membership`,
    );
}

/** A review of memberships names privileged groups. */
function checkReviewedMemberships(d: Directory): void {
  d.file.reviews.forEach((review, i) => {
    review.memberships.forEach((key, j) => {
      const group = d.file.groups.find((g) => g.key === key);
      const at = ["reviews", i, "memberships", j];
      if (!group) d.report(at, `unknown group "${key}"${didYouMean(key, d.groups.keys())}`);
      else if (!group.privileged)
        d.report(at, `"${key}" is not a privileged group; review its assignments under groups`);
    });
  });
}

/** Whether a group has owners: declared under `owners` or assigned ownership. */
function hasOwners(d: Directory, groupKey: string): boolean {
  const ownerRole = groupRoleKey(groupKey, "owner");
  return (
    (d.file.groups.find((g) => g.key === groupKey)?.owners.length ?? 0) > 0 ||
    d.file.assignments.some((a) => a.role === ownerRole)
  );
}

function checkAdministration(d: Directory): void {
  const { role, auditors } = d.file.administration;
  if (role !== null && !d.roles.has(role))
    d.report(["administration", "role"], `unknown role "${role}"${didYouMean(role, d.roles.keys())}`);
  auditors.forEach((name, i) => {
    if (!d.users.has(name) && !d.groups.has(name))
      d.report(["administration", "auditors", i], unknownPrincipal(d, name));
  });
}

function checkBreakGlass(d: Directory): void {
  d.file.breakGlass.forEach((name, i) => {
    const problem = notAUser(d, name, "a break-glass account");
    if (problem) d.report(["breakGlass", i], problem);
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
