/**
 * What an administrator in chat may revoke: everyone's roles held now (the list behind the Revoke
 * buttons), and the activations `/elevate revoke @person <role>` names.
 */
import type { Executor } from "../../db/client.js";
import { getActivation, listForPrincipal } from "../../db/repos/activations.js";
import {
  type ChatPlatformName,
  holderAndRoleNames,
  type Principal,
  principalByKey,
  principalByPlatformId,
  rolesByIds,
  userByEmail,
} from "../../db/repos/directory.js";
import { activationsWithNames } from "../../db/repos/history.js";
import { HOLDING_STATUSES } from "../../domain/activation.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAdministrator, authorizeAuditReader, refuseAdministration } from "./administrators.js";

export interface HeldRole {
  activationId: string;
  holder: { key: string; name: string };
  role: { key: string; name: string };
  scope: string;
  status: "activating" | "active";
  endsAt: Date | null;
}

export interface HeldRoles {
  items: HeldRole[];
  /** Administrators may revoke; auditors only look. */
  canRevoke: boolean;
}

/** Every role held through an activation now, newest first, for administrators and auditors. */
export async function heldRoles(deps: EngineDeps, actor: Actor, limit = 500): Promise<Result<HeldRoles, Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "activation.list");
    if (!reader.ok) return reader;
    const rows = await activationsWithNames(work.tx, { limit });
    const items: HeldRole[] = [];
    for (const { activation: a, principal, role } of rows)
      if (a.status === "active" || a.status === "activating")
        items.push({ activationId: a.id, holder: principal, role, scope: a.scope, status: a.status, endsAt: a.endsAt });
    return ok({ items, canRevoke: reader.value.basis !== "auditor" });
  });
}

/** Who `@person` names: a platform mention (`<@id>` or `<@id|label>`), a principal key, or an e-mail. */
export type PersonReference = { platformId: string } | { text: string };

export interface Revocable {
  holder: { id: string; key: string; name: string };
  role: { id: string; name: string };
  activationIds: string[];
  /** What was typed after the role: the reason, empty when none was given. */
  rest: string;
}

/**
 * The role a person holds now that an administrator's `revoke @person <role> [reason]` names; the
 * role is the longest of their held roles' keys or names the text starts with. Refusals are
 * audited (and a non-administrator's attempt alerted) before anything about the person is said.
 */
export async function findRevocable(
  deps: EngineDeps,
  actor: Actor,
  platform: ChatPlatformName,
  person: PersonReference,
  text: string,
): Promise<Result<Revocable, Refusal>> {
  return inTransaction(deps, async (work) => {
    const detail = { person: "platformId" in person ? person.platformId : person.text, typed: text.slice(0, 200) };
    const admin = await authorizeAdministrator(work, actor, "activation.revoke", detail);
    if (!admin.ok) return admin;
    const refused = (refusal: Refusal, subject?: string) => {
      refuseAdministration(work, admin.value.key, "activation.revoke", refusal, detail, { subject });
      return err(refusal);
    };
    const holder = await principalOf(work.tx, platform, person);
    if (!holder) return refused(refuse("NOT_FOUND", `I don't know who "${detail.person.slice(0, 80)}" is in PIM.`));
    const held = await listForPrincipal(work.tx, holder.id, HOLDING_STATUSES);
    const roles = await rolesByIds(
      work.tx,
      held.map((a) => a.roleId),
    );
    const typed = text.trim().toLowerCase();
    const names = [...roles.values()]
      .flatMap((r) => [r.key, r.name].map((n) => ({ role: r, n: n.toLowerCase() })))
      .filter(({ n }) => typed === n || typed.startsWith(`${n} `))
      .sort((a, b) => b.n.length - a.n.length);
    const match = names[0];
    if (!match) {
      const holding = [...roles.values()].map((r) => r.name).join(", ");
      return refused(
        refuse(
          "NOT_FOUND",
          holding
            ? `${holder.name} holds ${holding} now; name one of them.`
            : `${holder.name} holds no role through an activation now: nothing to revoke.`,
        ),
        holder.key,
      );
    }
    return ok({
      holder: { id: holder.id, key: holder.key, name: holder.name },
      role: { id: match.role.id, name: match.role.name },
      activationIds: held.filter((a) => a.roleId === match.role.id).map((a) => a.id),
      rest: text.trim().slice(match.n.length).trim(),
    });
  });
}

async function principalOf(
  tx: Executor,
  platform: ChatPlatformName,
  person: PersonReference,
): Promise<Principal | undefined> {
  if ("platformId" in person)
    return principalByPlatformId(
      tx,
      platform,
      platform === "teams" ? person.platformId.toLowerCase() : person.platformId,
    );
  const text = person.text.replace(/^@/, "").trim();
  const found = text.includes("@")
    ? await userByEmail(tx, text)
    : ((await principalByKey(tx, text)) ?? (await principalByKey(tx, text.toLowerCase())));
  return found?.kind === "user" && !found.retiredAt ? found : undefined;
}

/** What the revoke form names: whose role, which, where, and whether it is still held. */
export async function revocationSubject(
  db: Executor,
  activationId: string,
): Promise<{ holderName: string; roleName: string; scope: string; held: boolean } | undefined> {
  const a = await getActivation(db, activationId);
  if (!a) return undefined;
  return {
    ...(await holderAndRoleNames(db, a.principalId, a.roleId)),
    scope: a.scope,
    held: a.status === "active" || a.status === "activating",
  };
}
