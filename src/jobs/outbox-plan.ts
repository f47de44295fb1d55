import type { LostBacking } from "../app/activation/entitlement.js";
import { lostBacking } from "../app/activation/entitlement.js";
import {
  type Connector,
  type ConnectorResult,
  type GrantRequest,
  loginOf,
  permanent,
} from "../connectors/connector.js";
import type { ConnectorRegistry, TargetInfo } from "../connectors/registry.js";
import type { Executor } from "../db/client.js";
import { groupRoleList, principalKeys, principalsNow, roleTargets } from "../db/repos/directory.js";
import { privilegedGroups } from "../db/repos/group-access.js";
import type { HoldingJobPayload, JobRow } from "../db/repos/outbox.js";
import { findGrantActivations, findGrantAssignments } from "../db/repos/outbox-claims.js";
import { isInForce } from "../domain/eligibility.js";
import { connectorLookup, keepingReason, reasonsHeld } from "./holding-check.js";

/**
 * Set on a job that brings a target back in line after a call made without a valid claim (or
 * given up on but answered later): it grants or revokes only what the database says, then, should be held.
 */
export interface Reconciliation {
  /** The job whose call went out of turn. */
  after: string;
  worker: string;
  reason: string;
}

export type JobPayload = HoldingJobPayload & {
  assignmentId?: string;
  alertedAt?: string;
  reconcile?: Reconciliation;
  /**
   * Set on a grant or revoke that follows a group membership (PIM for Groups): the membership
   * job it follows. Such a grant is made only while some reason, the membership or another, holds it.
   */
  through?: string;
  /** With `through`: the membership itself, as its reasons are named ("activation act_…"). */
  membership?: string;
};

/** What one claimed job will do: call a connector, or nothing and why. */
export interface Plan {
  job: JobRow;
  payload: JobPayload;
  /** The principal's key (its id when it no longer exists), for audit and alerts. */
  subject: string;
  roleKey: string;
  connectorType: string | null;
  /** Set when no target call is needed: the reason, recorded as a skip. */
  skip?: string;
  /**
   * Set on a grant skipped because its requester is no longer entitled to it (retired, or the
   * eligibility removed since the job was written): completing it ends the activation.
   */
  unbacked?: Exclude<LostBacking, null>;
  /** Set when the call cannot be made at all (an unknown connector type). */
  failure?: ConnectorResult;
  connector?: Connector;
  /** Where the call goes and how long it may take. */
  target?: TargetInfo;
  request?: GrantRequest;
}

/**
 * Works out, for a batch of claimed jobs at once, what each must do. Both kinds look at the
 * database as it is now, not as it was when the job was written: a grant whose reason has gone
 * (the activation ended before its grant ran, the assignment was removed) is skipped, and a revoke
 * of something another reason still needs is skipped, so the order jobs run in cannot leak a grant.
 */
export async function planJobs(db: Executor, registry: ConnectorRegistry, jobs: JobRow[], now: Date): Promise<Plan[]> {
  const payloads = jobs.map((j) => j.payload as JobPayload);
  // Revokes, and grants that reconcile, both ask whether some reason still holds the holding.
  const revokes = jobs
    .filter((j) => j.kind === "revoke" || (j.payload as JobPayload).reconcile || (j.payload as JobPayload).through)
    .map((j) => (j.payload as JobPayload).principalId);
  const [keys, reasons, grantStates, groups] = await Promise.all([
    principalKeys(
      db,
      payloads.map((p) => p.principalId),
    ),
    reasonsHeld(db, revokes, now),
    grantTargets(
      db,
      jobs.filter((j) => j.kind === "grant"),
      now,
    ),
    groupRoleList(db).then((groupRoles) =>
      privilegedGroups(
        groupRoles,
        payloads.map((p) => p.principalId),
      ),
    ),
  ]);
  const roles = await roleTargets(db, [...payloads.map((p) => p.roleId), ...reasons.map((r) => r.roleId)]);
  const connectorOf = connectorLookup(registry);

  return jobs.map((job, i): Plan => {
    const payload = payloads[i]!;
    const principalKey = keys.get(payload.principalId);
    const role = roles.get(payload.roleId);
    const base = {
      job,
      payload,
      subject: principalKey ?? payload.principalId,
      roleKey: role?.key ?? payload.roleId,
      connectorType: null,
    };
    if (!principalKey || !role) return { ...base, skip: "the principal or the role no longer exists" };
    // PIM for Groups: what a privileged group holds is granted to its active members, one by one.
    if (groups.has(payload.principalId))
      return { ...base, skip: "a privileged group's roles are granted to its active members, not to the group" };
    let connector: Connector;
    try {
      connector = registry.forRole(role);
    } catch (error) {
      return { ...base, failure: permanent(error instanceof Error ? error.message : String(error)) };
    }
    const login = loginOf({ key: principalKey });
    const keep = (exceptMembership?: string) =>
      keepingReason(
        {
          principalId: payload.principalId,
          login,
          roleId: payload.roleId,
          scope: payload.scope,
          exceptActivationId: job.activationId,
          exceptAssignmentId: payload.assignmentId ?? null,
          ...(exceptMembership ? { exceptMembership } : {}),
        },
        reasons,
        roles,
        connectorOf,
      );
    if (job.kind === "grant" && (payload.reconcile || payload.through)) {
      if (!keep()) return { ...base, connectorType: connector.type, skip: "nothing holds it now; nothing to grant" };
      // A membership brings a role the person holds already for another reason: granted once.
      const other = payload.membership ? keep(payload.membership) : undefined;
      if (other) return { ...base, connectorType: connector.type, skip: `already held: ${other}` };
    } else if (job.kind === "grant") {
      const unwanted = grantStates.unwanted(job, payload, now);
      if (unwanted) return { ...base, connectorType: connector.type, skip: unwanted };
      const lost = job.activationId ? grantStates.lost.get(job.activationId) : undefined;
      if (lost) return { ...base, connectorType: connector.type, skip: UNBACKED_SKIP[lost], unbacked: lost };
    } else {
      const held = keep();
      if (held) return { ...base, connectorType: connector.type, skip: `still held: ${held}` };
    }
    return {
      ...base,
      connectorType: connector.type,
      connector,
      target: registry.targetOf(connector),
      request: {
        login,
        principalKey,
        roleKey: role.key,
        scope: payload.scope,
        until: payload.until ? new Date(payload.until) : null,
        activationId: job.activationId,
        idempotencyKey: job.id,
      },
    };
  });
}

const UNBACKED_SKIP: Record<Exclude<LostBacking, null>, string> = {
  PRINCIPAL_RETIRED: "the requester was removed from the policy; nothing to grant",
  NOT_ELIGIBLE: "the requester is no longer eligible; nothing to grant",
  NO_LONGER_BREAK_GLASS: "the requester is no longer a break-glass account; nothing to grant",
};

/**
 * Whether each grant still has its reason: an activation still being granted whose requester is
 * still an active user entitled to it (read now, not as the job's writer saw it), an assignment in force.
 */
async function grantTargets(db: Executor, grants: JobRow[], now: Date) {
  const activationIds = grants.map((j) => j.activationId).filter((id): id is string => id !== null);
  const assignmentIds = grants
    .map((j) => (j.payload as JobPayload).assignmentId)
    .filter((id): id is string => typeof id === "string");
  const [acts, asgs] = await Promise.all([
    findGrantActivations(db, activationIds),
    findGrantAssignments(db, assignmentIds),
  ]);
  const statusOf = new Map(acts.map((a) => [a.id, a.status]));
  const assignmentOf = new Map(asgs.map((a) => [a.id, a]));
  const granting = acts.filter((a) => a.status === "activating");
  const holders = await principalsNow(
    db,
    granting.map((a) => a.principalId),
  );
  const lost = new Map<string, Exclude<LostBacking, null>>();
  for (const a of granting) {
    // Group membership as of the directory version (apply bumps it); assignments and the principal as they are now.
    const why = await lostBacking(db, holders.get(a.principalId), a, now);
    if (why) lost.set(a.id, why);
  }
  return {
    lost,
    unwanted(job: JobRow, payload: JobPayload, now: Date): string | undefined {
      if (job.activationId) {
        const status = statusOf.get(job.activationId);
        return status === "activating" ? undefined : `the activation is ${status ?? "gone"}; nothing to grant`;
      }
      if (payload.assignmentId) {
        const a = assignmentOf.get(payload.assignmentId);
        if (a?.kind !== "active") return "the assignment was removed; nothing to grant";
        if (!isInForce(a, now)) return "the assignment is not in force; nothing to grant";
      }
      return undefined;
    },
  };
}
