import type { PimConfig } from "../../config/pim-file.js";
import { lockForTransaction } from "../../db/advisory-lock.js";
import { canonicalJson } from "../../db/audit-append.js";
import type { Tx } from "../../db/client.js";
import { type AssignmentRow, cancelAssignmentJobs, deleteAssignment } from "../../db/repos/assignments.js";
import {
  allMemberships,
  allPolicies,
  allPrincipals,
  allRoleRows,
  allScopes,
  allSettings,
  declaredAssignments,
  deleteMembership,
  deleteScope,
  insertDeclaredAssignment,
  insertMembership,
  insertPolicy,
  insertPrincipal,
  insertRole,
  insertScope,
  renameScope,
  retirePrincipal,
  retireRole,
  saveSetting,
  setManager,
  setPolicySettings,
  updateAssignment,
  updatePrincipal,
  updateRole,
} from "../../db/repos/config-apply.js";
import type { Principal } from "../../db/repos/directory.js";
import { isInForce } from "../../domain/eligibility.js";
import { enqueueHoldings } from "../activation/holding-jobs.js";
import { endUnbackedAccess } from "../activation/offboarding.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type DeclaredRemoval, honourRemovals } from "./declared-removals.js";

export interface ApplySummary {
  changes: number;
  byKind: Record<string, number>;
  /** Assignments the file declares that a review or an administrator removed: not put back. */
  staysRemoved: DeclaredRemoval[];
}

/** Replicas apply the file one at a time, so those starting together on an empty database do not insert it twice. */
export const APPLY_LOCK_KEY = 0x70696d30;

/**
 * Reconciles pim.yaml into the database in one transaction: what the file says is created or
 * updated, what it no longer says is retired or removed, and every change is one audit event.
 * Applying the same file twice changes nothing the second time. Assignments made from chat
 * (source "chat") are the database's own and are left alone.
 */
export async function applyConfig(deps: EngineDeps, config: PimConfig, actor = "system"): Promise<ApplySummary> {
  return inTransaction(deps, async (work) => {
    await lockForTransaction(work.tx, APPLY_LOCK_KEY);
    const counter = new ChangeCounter(work, actor);
    const principalIds = await reconcilePrincipals(work, config, counter);
    await reconcileMembership(work.tx, config, principalIds, counter);
    await reconcileScopes(work.tx, config, counter);
    const roleIds = await reconcileRoles(work, config, principalIds, counter);
    await reconcilePolicies(work.tx, config, roleIds, counter);
    const honoured = await honourRemovals(work.tx, config.assignments);
    await reconcileAssignments(work, { ...config, assignments: honoured.assignments }, principalIds, roleIds, counter);
    await reconcileSettings(work.tx, config, counter);
    // What the file no longer backs ends here, in the same transaction (each transition audited).
    const ended = await endUnbackedAccess(work);
    counter.total += ended.revoked + ended.canceled;
    if (counter.total > 0)
      work.audit({ event: "config.applied", actor, data: { changes: counter.total, byKind: counter.byKind } });
    return { changes: counter.total, byKind: counter.byKind, staysRemoved: honoured.staysRemoved };
  });
}

class ChangeCounter {
  total = 0;
  byKind: Record<string, number> = {};
  constructor(
    private readonly work: Work,
    private readonly actor: string,
  ) {}
  record(
    event: string,
    fields: {
      subject?: string | null;
      role?: string | null;
      scope?: string | null;
      justification?: string | null;
      data?: Record<string, unknown>;
    },
  ) {
    this.total++;
    this.byKind[event] = (this.byKind[event] ?? 0) + 1;
    this.work.audit({ event, actor: this.actor, ...fields });
  }
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Fields that differ, as { field: [before, after] }, for the audit trail. */
function diff<T extends Record<string, unknown>>(before: T, after: Partial<T>): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  for (const [k, v] of Object.entries(after)) if (!same(before[k], v)) out[k] = [before[k], v];
  return out;
}

async function reconcilePrincipals(
  work: Work,
  config: PimConfig,
  counter: ChangeCounter,
): Promise<Map<string, string>> {
  const existing = new Map((await allPrincipals(work.tx)).map((p) => [p.key, p]));
  const breakGlass = new Set(config.breakGlass);
  const wanted = [
    ...config.users.map((u) => ({
      key: u.key,
      kind: "user" as const,
      name: u.name,
      email: u.email,
      slackId: u.slackId,
      teamsId: u.teamsId,
      admin: u.admin,
      breakGlass: breakGlass.has(u.key),
    })),
    ...config.groups.map((g) => ({
      key: g.key,
      kind: "group" as const,
      name: g.name,
      email: null,
      slackId: null,
      teamsId: null,
      admin: false,
      breakGlass: false,
    })),
  ];
  await dropLinksTakenByFile(work, [...existing.values()], config, counter);
  const ids = new Map<string, string>();
  for (const w of wanted) {
    const row = existing.get(w.key);
    if (row) Object.assign(w, keptLinks(row, w));
    if (!row) {
      const id = newId(w.kind === "user" ? "usr" : "grp");
      await insertPrincipal(work.tx, { id, ...w });
      counter.record("principal.created", {
        subject: w.key,
        data: { kind: w.kind, name: w.name, admin: w.admin, breakGlass: w.breakGlass },
      });
      ids.set(w.key, id);
      continue;
    }
    ids.set(w.key, row.id);
    const changes = diff(row, { ...w, retiredAt: null });
    if (Object.keys(changes).length > 0) {
      await updatePrincipal(work.tx, row.id, { ...w, retiredAt: null });
      counter.record("principal.updated", { subject: w.key, data: { changes } });
    }
  }
  for (const row of existing.values()) {
    if (ids.has(row.key) || row.retiredAt) continue;
    await retirePrincipal(work.tx, row.id, work.now);
    counter.record("principal.retired", { subject: row.key });
  }
  // Managers refer to principals, so they are set once every principal has an id.
  for (const u of config.users) {
    const managerId = u.manager ? ids.get(u.manager)! : null;
    const row = existing.get(u.key);
    if (row && row.managerId === managerId) continue;
    if (!row && managerId === null) continue;
    await setManager(work.tx, ids.get(u.key)!, managerId);
    if (row)
      counter.record("principal.updated", {
        subject: u.key,
        data: { changes: { manager: [row.managerId, managerId] } },
      });
  }
  return ids;
}

/**
 * A platform id linked on first contact (through a confirmed e-mail) stays until the file
 * declares one for that person; a declared id always wins.
 */
function keptLinks(row: Principal, w: { slackId: string | null; teamsId: string | null }) {
  const slack = w.slackId === null && row.slackLinkedAt ? row.slackId : w.slackId;
  const teams = w.teamsId === null && row.teamsLinkedAt ? row.teamsId : w.teamsId;
  return {
    slackId: slack,
    teamsId: teams,
    slackLinkedAt: slack !== null && slack === row.slackId ? row.slackLinkedAt : null,
    teamsLinkedAt: teams !== null && teams === row.teamsId ? row.teamsLinkedAt : null,
  };
}

/** A linked id that the file now declares for someone else is taken from whoever was linked to it. */
async function dropLinksTakenByFile(work: Work, rows: Principal[], config: PimConfig, counter: ChangeCounter) {
  const declared = new Map<string, string>();
  for (const u of config.users) {
    if (u.slackId) declared.set(`slack:${u.slackId}`, u.key);
    if (u.teamsId) declared.set(`teams:${u.teamsId}`, u.key);
  }
  for (const row of rows) {
    for (const platform of ["slack", "teams"] as const) {
      const id = platform === "slack" ? row.slackId : row.teamsId;
      const linkedAt = platform === "slack" ? row.slackLinkedAt : row.teamsLinkedAt;
      const owner = id ? declared.get(`${platform}:${id}`) : undefined;
      if (!linkedAt || !owner || owner === row.key) continue;
      const cleared =
        platform === "slack" ? { slackId: null, slackLinkedAt: null } : { teamsId: null, teamsLinkedAt: null };
      await updatePrincipal(work.tx, row.id, cleared);
      Object.assign(row, cleared);
      counter.record("principal.link_removed", {
        subject: row.key,
        data: { platform, platformId: id, declaredFor: owner },
      });
    }
  }
}

async function reconcileMembership(tx: Tx, config: PimConfig, ids: Map<string, string>, counter: ChangeCounter) {
  const keyOf = new Map([...ids].map(([k, v]) => [v, k]));
  const wanted = new Map<string, { groupId: string; memberId: string; relation: "member" | "owner" }>();
  for (const g of config.groups) {
    for (const m of g.members)
      wanted.set(`${g.key}|${m}|member`, { groupId: ids.get(g.key)!, memberId: ids.get(m)!, relation: "member" });
    for (const o of g.owners)
      wanted.set(`${g.key}|${o}|owner`, { groupId: ids.get(g.key)!, memberId: ids.get(o)!, relation: "owner" });
  }
  const existing = await allMemberships(tx);
  const have = new Set<string>();
  for (const row of existing) {
    const key = `${keyOf.get(row.groupId)}|${keyOf.get(row.memberId)}|${row.relation}`;
    have.add(key);
    if (wanted.has(key)) continue;
    await deleteMembership(tx, row);
    counter.record("group.member_removed", {
      subject: keyOf.get(row.memberId) ?? row.memberId,
      data: { group: keyOf.get(row.groupId) ?? row.groupId, relation: row.relation },
    });
  }
  for (const [key, row] of wanted) {
    if (have.has(key)) continue;
    await insertMembership(tx, row);
    counter.record("group.member_added", {
      subject: keyOf.get(row.memberId),
      data: { group: keyOf.get(row.groupId), relation: row.relation },
    });
  }
}

async function reconcileScopes(tx: Tx, config: PimConfig, counter: ChangeCounter) {
  const existing = new Map((await allScopes(tx)).map((s) => [s.path, s]));
  for (const s of config.scopes) {
    const row = existing.get(s.path);
    if (!row) {
      await insertScope(tx, s);
      counter.record("scope.created", { scope: s.path, data: { name: s.name } });
    } else if (row.name !== s.name) {
      await renameScope(tx, s.path, s.name);
      counter.record("scope.updated", { scope: s.path, data: { changes: { name: [row.name, s.name] } } });
    }
    existing.delete(s.path);
  }
  for (const gone of existing.keys()) {
    await deleteScope(tx, gone);
    counter.record("scope.removed", { scope: gone });
  }
}

async function reconcileRoles(
  work: Work,
  config: PimConfig,
  principalIds: Map<string, string>,
  counter: ChangeCounter,
): Promise<Map<string, string>> {
  const existing = new Map((await allRoleRows(work.tx)).map((r) => [r.key, r]));
  const ids = new Map<string, string>();
  for (const r of config.roles) {
    const values = {
      key: r.key,
      name: r.name,
      description: r.description,
      connector: r.connector as Record<string, unknown>,
      scopes: r.scopes,
      notify: r.notify,
      critical: r.critical,
      groupId: r.group ? principalIds.get(r.group.key)! : null,
      groupAccess: r.group?.access ?? null,
    };
    const row = existing.get(r.key);
    if (!row) {
      const id = newId("rol");
      await insertRole(work.tx, { id, ...values });
      counter.record("role.created", { role: r.key, data: values });
      ids.set(r.key, id);
      continue;
    }
    ids.set(r.key, row.id);
    const changes = diff(row, { ...values, retiredAt: null });
    if (Object.keys(changes).length > 0) {
      await updateRole(work.tx, row.id, { ...values, retiredAt: null });
      counter.record("role.updated", { role: r.key, data: { changes } });
    }
  }
  for (const row of existing.values()) {
    if (ids.has(row.key) || row.retiredAt) continue;
    await retireRole(work.tx, row.id, work.now);
    counter.record("role.retired", { role: row.key });
  }
  return ids;
}

async function reconcilePolicies(tx: Tx, config: PimConfig, roleIds: Map<string, string>, counter: ChangeCounter) {
  const existing = await allPolicies(tx);
  const byRole = new Map(existing.map((p) => [p.roleId, p]));
  const wanted: { roleId: string | null; settings: PimConfig["defaults"]; label: string | null }[] = [
    { roleId: null, settings: config.defaults, label: null },
    ...config.roles.map((r) => ({ roleId: roleIds.get(r.key)!, settings: r.policy, label: r.key })),
  ];
  for (const w of wanted) {
    const row = byRole.get(w.roleId);
    if (row && same(row.settings, w.settings)) continue;
    if (row) await setPolicySettings(tx, row.id, w.settings);
    else
      await insertPolicy(tx, {
        id: w.roleId ? `pol_${w.roleId}` : "pol_defaults",
        roleId: w.roleId,
        settings: w.settings,
      });
    counter.record("policy.updated", {
      role: w.label,
      data: { scope: w.label ? "role" : "defaults", before: row?.settings ?? null, after: w.settings },
    });
  }
}

async function reconcileAssignments(
  work: Work,
  config: PimConfig,
  principalIds: Map<string, string>,
  roleIds: Map<string, string>,
  counter: ChangeCounter,
) {
  const existing = await declaredAssignments(work.tx);
  const identity = (a: { principalId: string; roleId: string; scope: string; kind: string }) =>
    `${a.principalId}|${a.roleId}|${a.scope}|${a.kind}`;
  const have = new Map(existing.map((a) => [identity(a), a]));
  const keyOfPrincipal = new Map([...principalIds].map(([k, v]) => [v, k]));
  const keyOfRole = new Map([...roleIds].map(([k, v]) => [v, k]));
  const names = (a: AssignmentRow) => ({
    subject: keyOfPrincipal.get(a.principalId) ?? a.principalId,
    role: keyOfRole.get(a.roleId) ?? a.roleId,
    scope: a.scope,
  });

  for (const w of config.assignments) {
    const values = {
      principalId: principalIds.get(w.principal)!,
      roleId: roleIds.get(w.role)!,
      scope: w.scope,
      kind: w.kind,
      startsAt: w.start,
      endsAt: w.end,
      justification: w.justification,
    };
    const row = have.get(identity(values));
    have.delete(identity(values));
    if (!row) {
      const created = { id: newId("asg"), ...values, source: "file" as const, createdBy: "pim.yaml" };
      await insertDeclaredAssignment(work.tx, created);
      counter.record("assignment.created", {
        ...names({ ...created, createdAt: work.now }),
        justification: w.justification,
        data: { kind: w.kind, start: w.start, end: w.end },
      });
      await scheduleActiveHolding(work, { ...created, createdAt: work.now });
      continue;
    }
    const changes = diff(row, {
      startsAt: values.startsAt,
      endsAt: values.endsAt,
      justification: values.justification,
    });
    if (Object.keys(changes).length === 0) continue;
    await updateAssignment(work.tx, row.id, values);
    counter.record("assignment.updated", {
      ...names(row),
      justification: w.justification,
      data: { kind: w.kind, changes },
    });
    await cancelAssignmentJobs(work.tx, row.id);
    await scheduleActiveHolding(work, { ...row, ...values });
  }
  for (const row of have.values()) {
    await deleteAssignment(work.tx, row.id);
    counter.record("assignment.removed", { ...names(row), data: { kind: row.kind } });
    await cancelAssignmentJobs(work.tx, row.id);
    if (row.kind === "active") await enqueueAssignmentJob(work, "revoke", row, work.now);
  }
}

/**
 * An active assignment is a holding on the target for its whole span: its grant is due at its
 * start and its revoke at its end, both durable jobs written now.
 */
export async function scheduleActiveHolding(work: Work, a: AssignmentRow): Promise<void> {
  if (a.kind !== "active") return;
  if (a.endsAt && a.endsAt <= work.now) return;
  await enqueueAssignmentJob(work, "grant", a, a.startsAt && a.startsAt > work.now ? a.startsAt : work.now);
  if (a.endsAt) await enqueueAssignmentJob(work, "revoke", a, a.endsAt);
  if (isInForce(a, work.now)) {
    work.audit({
      event: "assignment.active_in_force",
      actor: "system",
      subject: a.principalId,
      scope: a.scope,
      data: { assignmentId: a.id, roleId: a.roleId },
    });
  }
}

async function enqueueAssignmentJob(work: Work, kind: "grant" | "revoke", a: AssignmentRow, runAt: Date) {
  // Announced to the scheduler, so the grant runs now and the end is timed to the second.
  await enqueueHoldings(work, [
    {
      kind,
      activationId: null,
      runAt,
      payload: {
        principalId: a.principalId,
        roleId: a.roleId,
        scope: a.scope,
        until: a.endsAt?.toISOString() ?? null,
        assignmentId: a.id,
      },
    },
  ]);
}

async function reconcileSettings(tx: Tx, config: PimConfig, counter: ChangeCounter) {
  const wanted: Record<string, unknown> = {
    channels: config.channels,
    alerts: config.alerts,
    reviews: config.reviews,
    administration: config.administration,
  };
  const existing = new Map((await allSettings(tx)).map((s) => [s.key, s.value]));
  for (const [key, value] of Object.entries(wanted)) {
    if (existing.has(key) && same(existing.get(key), value)) continue;
    await saveSetting(tx, key, value);
    counter.record("settings.updated", { data: { key, before: existing.get(key) ?? null, after: value } });
  }
}
