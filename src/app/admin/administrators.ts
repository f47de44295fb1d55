/**
 * Who administers pim-bot: `admin: true` users and, when pim.yaml names an administrator role
 * (`administration: { role: … }`), whoever holds that role active right now. The `pim` command
 * line runs as the operator, who has the database itself and so is not asked. Every refusal is
 * audited, and a non-administrator's attempt raises an alert.
 */
import { activeActivationsOfRole, assignmentsOfRole, hasActiveActivation } from "../../db/repos/assignments.js";
import {
  adminIds,
  expandToUsers,
  getSetting,
  heldAssignments,
  type Principal,
  principalById,
  principalIdsByKeys,
  roleByKeyOrName,
} from "../../db/repos/directory.js";
import { type AdministratorBasis, administratorBasis } from "../../domain/assignment-rules.js";
import { isInForce } from "../../domain/eligibility.js";
import type { Refusal } from "../../domain/refusal.js";
import { refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import type { Work } from "../kernel/unit-of-work.js";

/** Who acts: a person identified by their platform (a principal id), or the operator at the `pim` command line. */
export type Actor = { kind: "person"; id: string } | { kind: "operator"; name: string };

export interface Administrator {
  /** Principal id; null for the operator. */
  id: string | null;
  /** How the audit log names them: a principal key, or `cli:<login>`. */
  key: string;
  name: string;
  basis: AdministratorBasis | "operator";
}

export interface AdministrationSettings {
  role: string | null;
  auditors: string[];
}

export async function administrationSettings(tx: Work["tx"]): Promise<AdministrationSettings> {
  return (await getSetting<AdministrationSettings>(tx, "administration")) ?? { role: null, auditors: [] };
}

/** Administrators by principal id as of now: `admin: true` users and active holders of the administrator role. */
export async function administratorIds(work: Pick<Work, "tx" | "now">): Promise<Set<string>> {
  const ids = await adminIds(work.tx);
  const settings = await administrationSettings(work.tx);
  if (settings.role === null) return ids;
  const role = await roleByKeyOrName(work.tx, settings.role);
  if (!role) return ids;
  for (const id of await activeHoldersOfRole(work.tx, role.id, work.now)) ids.add(id);
  return ids;
}

/** Users holding a role active now: through an activation, or an active assignment in force (theirs or a group's). */
export async function activeHoldersOfRole(tx: Work["tx"], roleId: string, now: Date): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const a of await activeActivationsOfRole(tx, roleId))
    if (a.endsAt === null || a.endsAt > now) ids.add(a.principalId);
  const holders = (await assignmentsOfRole(tx, roleId))
    .filter((m) => m.assignment.kind === "active" && isInForce(m.assignment, now))
    .map((m) => m.principal.id);
  for (const id of await expandToUsers(tx, holders)) ids.add(id);
  return ids;
}

/**
 * Checks that the actor may administer, and audits the refusal (`admin.refused`, with the
 * action tried) when not; a non-administrator's attempt also raises an alert.
 */
export async function authorizeAdministrator(
  work: Work,
  actor: Actor,
  action: string,
  detail: Record<string, unknown> = {},
): Promise<Result<Administrator, Refusal>> {
  if (actor.kind === "operator") return ok({ id: null, key: `cli:${actor.name}`, name: actor.name, basis: "operator" });
  const person = await principalById(work.tx, actor.id);
  if (person?.kind !== "user") {
    const refusal = refuse("NOT_ADMINISTRATOR", "Only pim-bot administrators can do this.");
    refuseAdministration(work, actor.id, action, refusal, detail);
    return err(refusal);
  }
  const verdict = administratorBasis(await administratorFacts(work, person));
  if (!verdict.ok) {
    refuseAdministration(work, person.key, action, verdict.error, detail);
    return err(verdict.error);
  }
  return ok({ id: person.id, key: person.key, name: person.name, basis: verdict.value });
}

async function administratorFacts(work: Pick<Work, "tx" | "now">, person: Principal) {
  const settings = await administrationSettings(work.tx);
  const role = settings.role ? await roleByKeyOrName(work.tx, settings.role) : undefined;
  if (!role)
    return {
      admin: person.admin,
      retired: person.retiredAt !== null,
      adminRole: null,
      holdsAdminRoleActive: false,
      eligibleForAdminRole: false,
    };
  const held = (await heldAssignments(work.tx, person.id, [role.id])).filter((a) => isInForce(a, work.now));
  const activeAssignment = held.some((a) => a.kind === "active");
  return {
    admin: person.admin,
    retired: person.retiredAt !== null,
    adminRole: { key: role.key, name: role.name },
    holdsAdminRoleActive: activeAssignment || (await hasActiveActivation(work.tx, person.id, role.id, work.now)),
    eligibleForAdminRole: held.some((a) => a.kind === "eligible"),
  };
}

/** Audits a refused administrative action; someone who is no administrator at all also raises an alert. */
export function refuseAdministration(
  work: Work,
  actorKey: string,
  action: string,
  refusal: Refusal,
  detail: Record<string, unknown> = {},
  names: { subject?: string | null; role?: string | null; scope?: string | null } = {},
): void {
  work.audit({
    event: "admin.refused",
    actor: actorKey,
    subject: names.subject ?? null,
    role: names.role ?? null,
    scope: names.scope ?? null,
    data: { action, code: refusal.code, message: refusal.message, ...detail },
  });
  if (refusal.code === "NOT_ADMINISTRATOR")
    work.emit({ type: "alert", kind: "unauthorized_approval", subject: actorKey, detail: { action, ...detail } });
}

/**
 * Who may read and export the audit log: administrators and the auditors named in pim.yaml
 * (`administration.auditors`, users or groups). Refusals are audited.
 */
export async function authorizeAuditReader(
  work: Work,
  actor: Actor,
  action: string,
): Promise<Result<{ key: string; basis: "administrator" | "auditor" | "operator" }, Refusal>> {
  if (actor.kind === "operator") return ok({ key: `cli:${actor.name}`, basis: "operator" });
  const person = await principalById(work.tx, actor.id);
  if (person && person.kind === "user" && !person.retiredAt) {
    const verdict = administratorBasis(await administratorFacts(work, person));
    if (verdict.ok) return ok({ key: person.key, basis: "administrator" });
    const { auditors } = await administrationSettings(work.tx);
    const auditorIds = await expandToUsers(work.tx, await principalIdsByKeys(work.tx, auditors));
    if (auditorIds.has(person.id)) return ok({ key: person.key, basis: "auditor" });
  }
  const refusal = refuse(
    "NOT_ADMINISTRATOR",
    "Only administrators and the auditors named in pim.yaml can read the audit log.",
  );
  refuseAdministration(work, person?.key ?? actor.id, action, refusal);
  return err(refusal);
}
