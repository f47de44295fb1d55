import { enqueueHoldings } from "../app/activation/holding-jobs.js";
import { type EngineDeps, inTransaction, type Work } from "../app/kernel/unit-of-work.js";
import { type Connector, type Holding, loginOf, targetKeyOf } from "../connectors/connector.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import { allRoleTargets, groupRoleList, principalKeysNow, type RoleTarget } from "../db/repos/directory.js";
import { membershipReasons, privilegedGroups } from "../db/repos/group-access.js";
import {
  findActiveAssignmentsOfRoles,
  findEndedHoldingsOfRoles,
  findJobsInFlight,
  findLiveActivationsOfRoles,
  wasUnexpectedHoldingRecorded,
} from "../db/repos/holdings.js";
import type { HoldingJobKind } from "../db/repos/outbox.js";
import { HOLDING_STATUSES } from "../domain/activation.js";
import { connectorLookup } from "./holding-check.js";

export interface DriftFinding {
  connector: string;
  login: string;
  role: string;
  scope: string;
}

export interface DriftReport {
  /** Connectors compared (those that can list what they hold). */
  compared: number;
  /** Held on a target with no reason in PIM and no PIM history: granted outside PIM. */
  unexpected: DriftFinding[];
  /** Held on a target although PIM ended it: a revoke was enqueued again. */
  revokedAgain: DriftFinding[];
  /** Missing on a target although PIM says it is held: a grant was enqueued again. */
  regranted: DriftFinding[];
  /** Connectors whose list failed, with why. */
  failed: { connector: string; error: string }[];
}

export interface DriftOptions {
  /** The same unexpected holding is recorded and alerted at most once in this window. */
  realertAfterMs?: number;
}

interface Want {
  principalId: string;
  roleId: string;
  scope: string;
  /** Only holdings whose grant has been confirmed may be called missing. */
  settled: boolean;
}

/**
 * Reconciliation: compares what each connector says it holds with what the database says must
 * be held. Holdings that are on their way in or out (an activation being granted or ended, a job
 * pending for the holding) are left alone: the outbox is already dealing with them.
 */
export async function detectDrift(
  deps: EngineDeps,
  registry: ConnectorRegistry,
  options: DriftOptions = {},
): Promise<DriftReport> {
  const report: DriftReport = { compared: 0, unexpected: [], revokedAgain: [], regranted: [], failed: [] };
  const allRoles = await allRoleTargets(deps.db);
  const connectorOf = connectorLookup(registry);
  const byConnector = new Map<Connector, RoleTarget[]>();
  for (const role of allRoles) {
    const connector = connectorOf(role);
    if (connector) byConnector.set(connector, [...(byConnector.get(connector) ?? []), role]);
  }
  for (const [connector, group] of byConnector) {
    let actual: Holding[] | undefined;
    try {
      actual = await connector.list();
    } catch (error) {
      report.failed.push({ connector: connector.type, error: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (!actual) continue;
    report.compared++;
    await reconcileOne(deps, connector, group, actual, report, options.realertAfterMs ?? 24 * 3_600_000);
  }
  return report;
}

async function reconcileOne(
  deps: EngineDeps,
  connector: Connector,
  group: RoleTarget[],
  actual: Holding[],
  report: DriftReport,
  realertAfterMs: number,
): Promise<void> {
  await inTransaction(deps, async (work) => {
    const roleIds = group.map((r) => r.id);
    const roleById = new Map(group.map((r) => [r.id, r]));
    const { wanted, moving, history } = await databaseView(work, roleIds);
    const keyOf = await principalKeysNow(work.tx, [
      ...new Set([...wanted, ...moving, ...history].map((w) => w.principalId)),
    ]);
    const keyFor = (w: { principalId: string; roleId: string; scope: string }) => {
      const principalKey = keyOf.get(w.principalId);
      const role = roleById.get(w.roleId);
      if (!principalKey || !role) return undefined;
      return targetKeyOf(connector, { login: loginOf({ key: principalKey }), roleKey: role.key, scope: w.scope });
    };
    const wantedKeys = new Set(wanted.map(keyFor));
    const movingKeys = new Set(moving.map(keyFor));
    const actualKeys = new Set(actual.map((h) => targetKeyOf(connector, h)));

    for (const h of actual) {
      const key = targetKeyOf(connector, h);
      if (wantedKeys.has(key) || movingKeys.has(key)) continue;
      const finding = { connector: connector.type, login: h.login, role: h.roleKey, scope: h.scope };
      const ended = history.find((w) => keyFor(w) === key);
      if (ended) {
        await enqueue(work, "revoke", ended);
        report.revokedAgain.push(finding);
        work.audit({
          event: "drift.revoked_again",
          actor: "system",
          subject: keyOf.get(ended.principalId) ?? h.login,
          role: roleById.get(ended.roleId)?.key ?? h.roleKey,
          scope: ended.scope,
          data: { connector: connector.type, login: h.login, targetRole: h.roleKey },
        });
        continue;
      }
      report.unexpected.push(finding);
      if (await recentlyReported(work, h, realertAfterMs)) continue;
      work.audit({
        event: "drift.unexpected_holding",
        actor: "system",
        subject: h.login,
        role: h.roleKey,
        scope: h.scope,
        data: { connector: connector.type, login: h.login, pimRoles: group.map((r) => r.key) },
      });
      work.emit({
        type: "alert",
        kind: "assigned_outside_pim",
        subject: h.login,
        detail: { connector: connector.type, role: h.roleKey, scope: h.scope, pimRoles: group.map((r) => r.key) },
      });
    }

    for (const w of wanted) {
      const key = keyFor(w);
      if (!w.settled || key === undefined || actualKeys.has(key) || movingKeys.has(key)) continue;
      actualKeys.add(key); // one grant per target holding, however many reasons it has
      const role = roleById.get(w.roleId)!;
      await enqueue(work, "grant", w);
      report.regranted.push({
        connector: connector.type,
        login: keyOf.get(w.principalId)!,
        role: role.key,
        scope: w.scope,
      });
      work.audit({
        event: "drift.missing_holding",
        actor: "system",
        subject: keyOf.get(w.principalId) ?? w.principalId,
        role: role.key,
        scope: w.scope,
        data: { connector: connector.type },
      });
    }
  });
}

/** What must be held, what is on its way in or out, and what PIM held once and ended. */
async function databaseView(work: Work, roleIds: string[]) {
  const now = work.now;
  const [acts, inForce, ended, pending, throughGroups] = await Promise.all([
    findLiveActivationsOfRoles(work.tx, roleIds),
    findActiveAssignmentsOfRoles(work.tx, roleIds),
    findEndedHoldingsOfRoles(work.tx, roleIds),
    // In flight: due, being run, or retrying. A job merely scheduled for later (an assignment's
    // end) is not: until then the holding is wanted like any other.
    findJobsInFlight(work.tx, now),
    // What members of privileged groups hold through their membership is wanted too.
    groupRoleList(work.tx).then((groupRoles) =>
      membershipReasons(work.tx, groupRoles, "everyone", HOLDING_STATUSES, now),
    ),
  ]);
  // A privileged group is no login on a target: what it holds goes to its active members.
  const groups = privilegedGroups(
    await groupRoleList(work.tx),
    inForce.map((a) => a.principalId),
  );
  const held = inForce.filter((a) => !groups.has(a.principalId));
  const inForceNow = held.filter((a) => (!a.startsAt || a.startsAt <= now) && (!a.endsAt || now < a.endsAt));
  const endedAssignments = held.filter((a) => a.endsAt && a.endsAt <= now);
  const wanted: Want[] = [
    ...acts.filter((a) => a.status !== "ending").map((a) => ({ ...a, settled: a.status === "active" })),
    ...inForceNow.map((a) => ({ ...a, settled: true })),
    // Their grants are follow-ups the outbox may not have run yet: never called missing.
    ...throughGroups.filter((r) => roleIds.includes(r.roleId)).map((r) => ({ ...r, settled: false })),
  ];
  const roleSet = new Set(roleIds);
  const moving = [
    ...acts.filter((a) => a.status === "ending" || a.status === "activating"),
    ...pending
      .map((j) => j.payload as { principalId: string; roleId: string; scope: string })
      .filter((p) => roleSet.has(p.roleId)),
  ];
  const history = [...ended, ...endedAssignments];
  return { wanted, moving, history };
}

async function enqueue(work: Work, kind: HoldingJobKind, w: { principalId: string; roleId: string; scope: string }) {
  await enqueueHoldings(work, [
    {
      kind,
      activationId: null,
      payload: { principalId: w.principalId, roleId: w.roleId, scope: w.scope, until: null, drift: true },
    },
  ]);
}

async function recentlyReported(work: Work, h: Holding, windowMs: number): Promise<boolean> {
  return wasUnexpectedHoldingRecorded(work.tx, h, new Date(work.now.getTime() - windowMs), work.now);
}
