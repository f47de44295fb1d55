import { requestExtension } from "../../app/activation/extend.js";
import { activationWithRole } from "../../app/activation/lookup.js";
import { requestActivation } from "../../app/activation/request.js";
import { requestableRoles } from "../../app/activation/views.js";
import { recordDecision } from "../../app/reviews/decide.js";
import { scopeCovers } from "../../domain/scope.js";
import { parseStart } from "../../domain/start-time.js";
import { FIELDS, scopeField } from "../views/action-ids.js";
import { plainText } from "../views/card.js";
import {
  buildRequestForm,
  checkSubmission,
  type DurationChoice,
  durationChoices,
  fieldForRefusal,
  type RequestFormModel,
  type RequestSubmission,
} from "../views/request-form.js";
import { denyRequest } from "./clicks.js";
import type { Acting, FlowContext, Principal } from "./interaction.js";

/** Errors keyed by field id (roles, duration, justification, ticket, scope.<roleId>, comment, reason). */
export type FieldErrors = Record<string, string>;

/** A form's outcome: errors to show under their fields, or done (with what was asked, for a receipt). */
export type Submitted<T = undefined> = { ok: false; errors: FieldErrors } | { ok: true; value: T };

const failed = (errors: FieldErrors): { ok: false; errors: FieldErrors } => ({ ok: false, errors });

/** The request form for a person, with a role already picked when they named or clicked one. */
export async function requestForm(ctx: FlowContext, me: Principal, pickedRoleIds: string[]): Promise<RequestFormModel> {
  const eligible = await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now());
  return buildRequestForm(eligible, pickedRoleIds);
}

/**
 * A submitted request form: checked against the form's own rules, then by the engine against
 * policy; a refusal comes back under the field that caused it.
 */
export async function submitRequest(
  ctx: FlowContext,
  ix: Pick<Acting, "me" | "platform">,
  submission: RequestSubmission,
): Promise<Submitted<{ model: RequestFormModel; roleNames: string[]; durationMs: number }>> {
  const model = await requestForm(ctx, ix.me, submission.roleIds);
  const problems = checkSubmission(model, submission);
  if (Object.keys(problems).length > 0) return failed({ ...problems });
  const start = parseStart(submission.start, ctx.deps.clock.now());
  if (!start.ok) return failed({ [FIELDS.start]: start.error.message });
  const child = submission.childScope?.trim() || null;
  const outside = child
    ? model.selected.find((r) => !scopeCovers(submission.scopes[r.roleId] ?? r.scopes[0]!, child))
    : undefined;
  if (child && outside)
    return failed({
      [FIELDS.childScope]: `${child.slice(0, 80)} is not inside ${submission.scopes[outside.roleId] ?? outside.scopes[0]}, where you may activate ${outside.roleName}.`,
    });
  const outcome = await requestActivation(ctx.deps, {
    requesterId: ix.me.id,
    roles: submission.roleIds.map((roleId) => ({ roleId, scope: child ?? submission.scopes[roleId] ?? null })),
    durationMs: submission.durationMs!,
    justification: submission.justification,
    ticket: submission.ticket,
    origin: ix.platform,
    startsAt: start.value,
  });
  if (!outcome.ok) {
    const { code, roleId, message } = outcome.error;
    const picker = code === "SCOPE_NOT_ALLOWED" && model.scopePickers.some((p) => p.roleId === roleId);
    const field =
      code === "SCOPE_NOT_ALLOWED" && child ? FIELDS.childScope : picker ? scopeField(roleId!) : fieldForRefusal(code);
    return failed({ [field]: message });
  }
  return {
    ok: true,
    value: { model, roleNames: model.selected.map((r) => r.roleName), durationMs: submission.durationMs! },
  };
}

export interface ExtendForm {
  activationId: string;
  roleName: string;
  choices: DurationChoice[];
  justification: string | null;
}

/** The extension form for one of my active roles, or why it cannot be extended. */
export async function extendForm(ctx: FlowContext, me: Principal, activationId: string): Promise<ExtendForm | string> {
  const found = await activationWithRole(ctx.deps.db, activationId);
  if (!found || found.activation.principalId !== me.id) return "You can only extend your own activations.";
  if (found.activation.status !== "active") return "Only an active role can be extended; request it again instead.";
  return {
    activationId,
    roleName: found.role.name,
    choices: durationChoices(found.role.policy.activation.maxDurationMs),
    justification: found.activation.justification,
  };
}

export async function submitExtend(
  ctx: FlowContext,
  ix: Pick<Acting, "me" | "platform">,
  activationId: string,
  form: { durationMs: number | null; justification: string | null },
): Promise<Submitted<{ roleName: string; durationMs: number }>> {
  if (!form.durationMs) return failed({ [FIELDS.duration]: "Pick how long." });
  const outcome = await requestExtension(ctx.deps, {
    activationId,
    userId: ix.me.id,
    durationMs: form.durationMs,
    justification: form.justification,
    origin: ix.platform,
  });
  if (!outcome.ok) {
    const field = fieldForRefusal(outcome.error.code) === "justification" ? FIELDS.justification : FIELDS.duration;
    return failed({ [field]: outcome.error.message });
  }
  const found = await activationWithRole(ctx.deps.db, activationId);
  return { ok: true, value: { roleName: found?.role.name ?? "the role", durationMs: form.durationMs } };
}

/** The deny form: the comment is required, the requester reads it. */
export async function submitDeny(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  requestId: string,
  comment: string | null,
): Promise<Submitted> {
  if (!comment?.trim()) return failed({ [FIELDS.comment]: "Say why you deny it; the requester reads it." });
  const error = await denyRequest(ctx, ix, requestId, comment);
  if (error) return failed({ [FIELDS.comment]: plainText(error) });
  return { ok: true, value: undefined };
}

/** A reviewer removes an assignment, with an optional reason kept in the audit log. */
export async function submitReviewRemove(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  itemId: string,
  reason: string | null,
): Promise<Submitted> {
  const decided = await recordDecision(ctx.deps, ix.me.id, { itemId, decision: "remove", reason });
  if (!decided.ok) return failed({ [FIELDS.reason]: decided.error.message });
  return { ok: true, value: undefined };
}
