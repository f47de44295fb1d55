import type { TurnContext } from "botbuilder";
import { eligibleRoles } from "../../app/queries.js";
import { requestActivation } from "../../app/request-activation.js";
import { scopeField } from "../views/action-ids.js";
import { buildRequestForm, checkSubmission, fieldForRefusal } from "../views/request-form.js";
import { noEligibleRolesCard } from "../views/roles-list.js";
import { type Json, renderCard } from "./cards.js";
import type { Principal, TeamsContext } from "./context.js";
import { type CardErrors, readRequestSubmission, requestFormCard, submittedCard } from "./form.js";
import { replyCard, replyJson, replyNote } from "./reply.js";

/** Posts the request form in the chat, with a role already picked when the person named or clicked one. */
export async function openRequestForm(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  preselectRoleId: string | null,
): Promise<void> {
  const eligible = await eligibleRoles(ctx.deps.db, me.id, ctx.deps.clock.now());
  const model = buildRequestForm(eligible, preselectRoleId ? [preselectRoleId] : []);
  if (model.roles.length === 0 && model.busy.length === 0) {
    await replyCard(turn, noEligibleRolesCard(ctx.askWho), "note");
    return;
  }
  if (model.roles.length === 0) {
    await replyNote(
      turn,
      `Everything you can request is already active or pending: ${model.busy.join(", ")}. Use "${ctx.command} extend" for more time.`,
    );
    return;
  }
  await replyJson(turn, requestFormCard(model), "Request access");
}

/**
 * A submitted form: checked like Slack's (the neutral rules), then by the engine against policy.
 * Any refusal redraws the form for the roles picked, values kept, the message under its field.
 */
export async function submitRequestForm(ctx: TeamsContext, me: Principal, data: Json): Promise<Json> {
  const submission = readRequestSubmission(data);
  const eligible = await eligibleRoles(ctx.deps.db, me.id, ctx.deps.clock.now());
  const model = buildRequestForm(eligible, submission.roleIds);
  const redraw = (errors: CardErrors) => requestFormCard(model, submission, errors);
  const problems: CardErrors = { ...checkSubmission(model, submission) };
  if (Object.keys(problems).length > 0) return redraw(problems);

  const outcome = await requestActivation(ctx.deps, {
    requesterId: me.id,
    roles: submission.roleIds.map((roleId) => ({ roleId, scope: submission.scopes[roleId] ?? null })),
    durationMs: submission.durationMs!,
    justification: submission.justification,
    ticket: submission.ticket,
    origin: "teams",
  });
  if (!outcome.ok) {
    const { code, roleId, message } = outcome.error;
    const picker = code === "SCOPE_NOT_ALLOWED" && model.scopePickers.some((p) => p.roleId === roleId);
    return redraw({ [picker ? scopeField(roleId!) : fieldForRefusal(code)]: message });
  }
  const names = model.selected.map((r) => r.roleName);
  return renderCard(submittedCard("Request sent", names, submission.durationMs!), { view: "note" });
}
