import type { TurnContext } from "botbuilder";
import { requestExtension } from "../../app/extend-activation.js";
import { getActivation } from "../../db/repos/activations.js";
import { rolesByIds } from "../../db/repos/directory.js";
import { FIELDS } from "../views/action-ids.js";
import { durationChoices, fieldForRefusal } from "../views/request-form.js";
import { type Json, renderCard } from "./cards.js";
import type { Principal, TeamsContext } from "./context.js";
import { extendFormCard, readExtendSubmission, submittedCard } from "./form.js";
import { noteCard, replyJson } from "./reply.js";

async function extendable(ctx: TeamsContext, me: Principal, activationId: string) {
  const a = await getActivation(ctx.deps.db, activationId);
  if (!a || a.principalId !== me.id) return "You can only extend your own activations.";
  if (a.status !== "active") return "Only an active role can be extended; request it again instead.";
  const role = (await rolesByIds(ctx.deps.db, [a.roleId])).get(a.roleId)!;
  return { a, role, choices: durationChoices(role.policy.activation.maxDurationMs) };
}

/** Posts the extension form for one of my active roles; returns why not, when it cannot. */
export async function openExtendForm(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  activationId: string,
): Promise<string | null> {
  const found = await extendable(ctx, me, activationId);
  if (typeof found === "string") return found;
  const card = extendFormCard(found.a.id, found.role.name, found.choices, {
    durationMs: null,
    justification: found.a.justification,
  });
  await replyJson(turn, card, `Extend ${found.role.name}`);
  return null;
}

export async function submitExtendForm(
  ctx: TeamsContext,
  me: Principal,
  activationId: string,
  data: Json,
): Promise<Json> {
  const form = readExtendSubmission(data);
  const found = await extendable(ctx, me, activationId);
  if (typeof found === "string") return noteCard(found);
  const redraw = (field: string, message: string) =>
    extendFormCard(found.a.id, found.role.name, found.choices, form, { [field]: message });
  if (!form.durationMs) return redraw(FIELDS.duration, "Pick how long.");
  const outcome = await requestExtension(ctx.deps, {
    activationId,
    userId: me.id,
    durationMs: form.durationMs,
    justification: form.justification,
    origin: "teams",
  });
  if (!outcome.ok) {
    const field = fieldForRefusal(outcome.error.code) === "justification" ? FIELDS.justification : FIELDS.duration;
    return redraw(field, outcome.error.message);
  }
  return renderCard(submittedCard("Extension requested", [found.role.name], form.durationMs), { view: "note" });
}
