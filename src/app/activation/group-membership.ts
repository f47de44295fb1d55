import { listForPrincipal } from "../../db/repos/activations.js";
import { groupRoleList, principalsNow, rolesByIds } from "../../db/repos/directory.js";
import { assignmentsOfGroups, groupHolds, privilegedGroups } from "../../db/repos/group-access.js";
import type { HoldingJobKind } from "../../db/repos/outbox.js";
import { HOLDING_STATUSES } from "../../domain/activation.js";
import { isInForce } from "../../domain/eligibility.js";
import type { Work } from "../kernel/unit-of-work.js";
import { endOne } from "./end.js";
import { lostBacking } from "./entitlement.js";
import { enqueueHoldings, type HoldingJob } from "./holding-jobs.js";
import { cancelPending } from "./offboarding.js";

/** A grant or revoke of a role that the outbox worker has just completed. */
export interface CompletedHolding {
  jobId: string;
  kind: HoldingJobKind;
  principalId: string;
  roleId: string;
  scope: string;
  until: string | null;
  /** The membership the job was for: "activation act_…" or "assignment asg_…". */
  via: string | null;
  /** No target call was made (nothing to grant, or still held). */
  skipped: boolean;
}

/**
 * PIM for Groups: what follows a membership of a privileged group reaching or leaving its target.
 * Granted, the member is granted each active assignment of the group in force; revoked, those are
 * revoked and the activations the membership alone made possible end. Each follow-up job looks at
 * every reason the person holds the role for when it runs, so a role the person also holds
 * directly is revoked only once both have ended.
 */
export async function followMemberships(work: Work, completed: CompletedHolding[]): Promise<void> {
  if (completed.length === 0) return;
  const roles = await rolesByIds(
    work.tx,
    completed.map((c) => c.roleId),
  );
  const jobs: HoldingJob[] = [];
  const revokedMembers = new Set<string>();
  await followGroupHoldings(work, completed, jobs);
  for (const c of completed) {
    const role = roles.get(c.roleId);
    if (role?.groupAccess !== "member" || role.groupId === null) continue;
    if (c.kind === "grant" && c.skipped) continue;
    const held = await assignmentsOfGroups(work.tx, [role.groupId], { kind: "active" });
    for (const a of held) {
      if (c.kind === "grant" && !isInForce(a, work.now)) continue;
      jobs.push({
        kind: c.kind,
        activationId: null,
        payload: {
          principalId: c.principalId,
          roleId: a.roleId,
          scope: a.scope,
          until: c.kind === "grant" ? c.until : null,
          through: c.jobId,
          ...(c.via ? { membership: c.via } : {}),
        },
      });
    }
    if (c.kind === "revoke") revokedMembers.add(c.principalId);
  }
  await enqueueHoldings(work, jobs);
  await endWhatMembershipBacked(work, [...revokedMembers]);
}

/**
 * A privileged group's own holding changed (an active assignment of the group began or ended):
 * its active members follow, each through their own membership.
 */
async function followGroupHoldings(work: Work, completed: CompletedHolding[], jobs: HoldingJob[]): Promise<void> {
  const groupRoles = await groupRoleList(work.tx);
  const groups = privilegedGroups(
    groupRoles,
    completed.map((c) => c.principalId),
  );
  if (groups.size === 0) return;
  const members = await groupHolds(work.tx, groupRoles, "everyone", "member", HOLDING_STATUSES);
  for (const c of completed) {
    if (!groups.has(c.principalId)) continue;
    for (const m of members) {
      if (m.groupId !== c.principalId) continue;
      if (m.via.kind === "assignment" && !isInForce(m, work.now)) continue;
      jobs.push({
        kind: c.kind,
        activationId: null,
        payload: {
          principalId: m.principalId,
          roleId: c.roleId,
          scope: c.scope,
          until: c.kind === "grant" ? (m.endsAt?.toISOString() ?? null) : null,
          through: c.jobId,
          membership: `${m.via.kind} ${m.via.id}`,
        },
      });
    }
  }
}

const AT_STAKE = ["pending_mfa", "pending_approval", "activating", "active"] as const;

/** Activations and requests of these people that rested on a membership now over, ended or canceled. */
async function endWhatMembershipBacked(work: Work, principalIds: string[]): Promise<void> {
  const holders = await principalsNow(work.tx, principalIds);
  for (const principalId of principalIds) {
    for (const a of await listForPrincipal(work.tx, principalId, AT_STAKE)) {
      const lost = await lostBacking(work.tx, holders.get(principalId), a, work.now);
      if (!lost) continue;
      if (a.status === "active" || a.status === "activating")
        await endOne(work, a, "revoked", "system", { cause: lost, group: "membership ended" });
      else await cancelPending(work, a, lost);
    }
  }
}
