/**
 * What an administrator types in chat, turned into what the administration use cases take: the
 * user or group an assignment is for (a platform mention, an e-mail address or a pim.yaml key),
 * and an assignment named by its short reference. Nothing here decides or reveals anything: the
 * use cases authorize first and say what is unknown.
 */
import { assignmentIdsStartingWith, getAssignment, getAssignmentRequest } from "../../db/repos/assignments.js";
import {
  allRoles,
  type ChatPlatformName,
  holderAndRoleNames,
  principalByKey,
  principalByPlatformId,
  userByEmail,
} from "../../db/repos/directory.js";
import { referencePrefix } from "../../domain/assignment-reference.js";
import type { AssignmentSubject } from "../../domain/assignment-view.js";
import type { Refusal } from "../../domain/refusal.js";
import { ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAdministrator } from "./administrators.js";
import type { PersonReference } from "./revocable.js";

/**
 * The principal key a reference names, for `assignRole`; what was typed when it names nobody, so
 * the use case refuses it (after checking who asks) with the words the administrator used.
 */
export async function principalKeyOf(
  deps: EngineDeps,
  platform: ChatPlatformName,
  person: PersonReference,
): Promise<string> {
  if ("platformId" in person) {
    const id = platform === "teams" ? person.platformId.toLowerCase() : person.platformId;
    return (await principalByPlatformId(deps.db, platform, id))?.key ?? person.platformId;
  }
  const text = person.text.replace(/^@/, "").trim();
  if (text.includes("@")) return (await userByEmail(deps.db, text))?.key ?? text;
  return (await principalByKey(deps.db, text)) ? text : text.toLowerCase();
}

/** The assignment id a typed reference stands for when exactly one matches; otherwise what was typed. */
export async function assignmentIdOf(deps: EngineDeps, typed: string): Promise<string> {
  const prefix = referencePrefix(typed);
  if (!prefix) return typed.trim();
  const ids = await assignmentIdsStartingWith(deps.db, prefix, 2);
  return ids.length === 1 ? ids[0]! : typed.trim();
}

export interface AssignableRole {
  id: string;
  key: string;
  name: string;
  scopes: string[];
}

/**
 * What the assignment form offers an administrator: every role with its scopes. Anyone else is
 * refused, audited (`admin.refused`, action `assignment.form`) and, when no administrator at all,
 * alerted, before anything is shown.
 */
export async function assignmentFormChoices(
  deps: EngineDeps,
  actor: Actor,
): Promise<Result<AssignableRole[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "assignment.form");
    if (!admin.ok) return admin;
    const roles = await allRoles(work.tx);
    return ok(roles.map((r) => ({ id: r.id, key: r.key, name: r.name, scopes: r.scopes })));
  });
}

export type { AssignmentSubject };

/** What a form or a receipt names about an assignment; undefined when it is gone. */
export async function assignmentSubject(
  deps: EngineDeps,
  assignmentId: string,
): Promise<AssignmentSubject | undefined> {
  const row = await getAssignment(deps.db, assignmentId);
  if (!row) return undefined;
  const { holderName, roleName } = await holderAndRoleNames(deps.db, row.principalId, row.roleId);
  return {
    assignmentId,
    principalName: holderName,
    roleName,
    scope: row.scope,
    kind: row.kind,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
  };
}

/** What an active assignment waiting for its administrator's step-up is about. */
export async function pendingAssignmentSubject(
  deps: EngineDeps,
  pendingId: string,
): Promise<{ principalName: string; roleName: string; scope: string } | undefined> {
  const row = await getAssignmentRequest(deps.db, pendingId);
  if (!row) return undefined;
  const { holderName, roleName } = await holderAndRoleNames(deps.db, row.principalId, row.roleId);
  return {
    principalName: holderName,
    roleName,
    scope: row.scope,
  };
}
