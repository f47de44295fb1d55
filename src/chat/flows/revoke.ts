/**
 * Administrators take roles away from chat: `revoke @person <role> [reason]`, and a Revoke button
 * on the list of roles held now (`active`). A reason is required: typed after the role, or asked
 * for in a form (a modal on Slack, a card on Teams). Whether the person may revoke is the use
 * case's call; every refusal is audited there.
 */

import { findRevocable, heldRoles, type PersonReference, revocationSubject } from "../../app/admin/revocable.js";
import { type RevokeTarget, revokeActivationAsAdmin } from "../../app/admin/revoke-activation.js";
import { FIELDS } from "../views/action-ids.js";
import { activeRolesCard } from "../views/active-roles.js";
import type { Card } from "../views/card.js";
import type { Submitted } from "./forms.js";
import type { Acting, FlowContext, Principal } from "./interaction.js";

const asActor = (me: Principal) => ({ kind: "person" as const, id: me.id });

/** A mention as the platform wrote it (`<@U123>`, `<@U123|alice>`, `<mailto:a@b|a@b>`), else the word typed (a key or an e-mail). */
export function splitPerson(args: string): { person: PersonReference; rest: string } | null {
  const text = args.trim();
  const mention = /^<@([A-Za-z0-9._:-]+)(?:\|[^>]*)?>\s*/.exec(text);
  if (mention) return { person: { platformId: mention[1]! }, rest: text.slice(mention[0].length) };
  // Slack sends an e-mail address typed in an escaped command as a mailto link.
  const mailto = /^<mailto:([^|>\s]+)(?:\|[^>]*)?>\s*/.exec(text);
  if (mailto) return { person: { text: mailto[1]! }, rest: text.slice(mailto[0].length) };
  const [word = "", ...rest] = text.split(/\s+/);
  return word ? { person: { text: word }, rest: rest.join(" ") } : null;
}

/** `revoke @person <role> [reason]`: revoked at once with a reason, else the form asks for one. */
export async function revokeCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const parsed = splitPerson(args);
  if (!parsed)
    return ix.reply([
      "Name the person and the role: ",
      { code: `${ctx.command} revoke @person <role> <reason>` },
      ". The holder is told who revoked it and why.",
    ]);
  const found = await findRevocable(ctx.deps, asActor(ix.me), ix.platform, parsed.person, parsed.rest);
  if (!found.ok) return ix.reply(found.error.message);
  const { holder, role, activationIds, rest } = found.value;
  if (rest === "") {
    if (activationIds.length === 1) return ix.openForm({ kind: "revoke", activationId: activationIds[0]! });
    return ix.reply([
      `Say why you revoke ${role.name} from ${holder.name}: `,
      { code: `${ctx.command} revoke ${holder.key} ${role.name} <reason>` },
    ]);
  }
  const done = await revoke(ctx, ix.me, { holderId: holder.id, roleId: role.id }, rest);
  await ix.reply(done ?? `Revoking ${role.name} from ${holder.name} now; they are told who revoked it and why.`);
}

/** `active`: every role held through an activation now, each with a Revoke button for administrators. */
export async function activeCommand(ctx: FlowContext, ix: Acting): Promise<void> {
  await ix.reply(await activeRolesOf(ctx, ix.me), "active");
}

export async function activeRolesOf(ctx: FlowContext, me: Principal): Promise<Card> {
  const held = await heldRoles(ctx.deps, asActor(me));
  if (!held.ok)
    return {
      header: "Roles held now",
      tone: "muted",
      summary: held.error.message,
      blocks: [{ type: "text", text: [held.error.message] }],
    };
  return activeRolesCard(held.value, ctx.deps.clock.now(), ctx.command);
}

export interface RevokeForm {
  activationId: string;
  holderName: string;
  roleName: string;
  scope: string;
}

/** What the revoke form shows, or why there is nothing to revoke. */
export async function revokeForm(ctx: FlowContext, activationId: string): Promise<RevokeForm | string> {
  const found = await revocationSubject(ctx.deps.db, activationId);
  if (!found) return "This activation does not exist.";
  if (!found.held) return `${found.holderName} does not hold ${found.roleName} any more; there is nothing to revoke.`;
  return { activationId, holderName: found.holderName, roleName: found.roleName, scope: found.scope };
}

/** The revoke form submitted: the reason is required, the holder reads it. */
export async function submitRevoke(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  activationId: string,
  reason: string | null,
): Promise<Submitted> {
  if (!reason?.trim()) return { ok: false, errors: { [FIELDS.reason]: "Say why you revoke it; the holder reads it." } };
  const refused = await revoke(ctx, ix.me, { activationId }, reason);
  return refused ? { ok: false, errors: { [FIELDS.reason]: refused } } : { ok: true, value: undefined };
}

/** Revokes through the one administrator use case; the refusal's sentence when it says no. */
async function revoke(ctx: FlowContext, me: Principal, target: RevokeTarget, reason: string): Promise<string | null> {
  const done = await revokeActivationAsAdmin(ctx.deps, asActor(me), target, reason);
  return done.ok ? null : done.error.message;
}
