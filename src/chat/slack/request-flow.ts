import type { App, webApi } from "@slack/bolt";
import { requestActivation } from "../../app/request-activation.js";
import { FIELDS, FORMS, scopeField } from "../views/action-ids.js";
import {
  buildRequestForm,
  checkSubmission,
  fieldForRefusal,
  requestableRoles,
  searchRoles,
  toFormRole,
} from "../views/request-form.js";
import { noEligibleRolesCard } from "../views/roles-list.js";
import { LIMITS, truncatePlain } from "./blocks.js";
import type { SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { errorBlockId, loadingModal, messageModal, pickedRoles, readRequestForm, requestModal } from "./modals.js";

/**
 * Opens the request form. The trigger id lives 3 seconds and works once, so a "loading" modal is
 * opened with it before anything else, and the real form replaces it when the roles are known.
 */
export async function openRequestForm(
  ctx: SlackContext,
  client: webApi.WebClient,
  triggerId: string,
  slackUserId: string,
  preselectRoleId: string | null,
): Promise<void> {
  const opened = await client.views.open({ trigger_id: triggerId, view: loadingModal() });
  const viewId = opened.view?.id;
  if (!viewId) return;
  const hash = opened.view?.hash;
  const me = await ctx.identity.resolve(slackUserId);
  if (!me) {
    await ctx.identity.recordUnknown(slackUserId, "request form");
    await client.views.update({ view_id: viewId, hash, view: messageModal("Request access", UNKNOWN_USER_TEXT) });
    return;
  }
  const eligible = await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now());
  const model = buildRequestForm(eligible, preselectRoleId ? [preselectRoleId] : []);
  const view =
    model.roles.length === 0 && model.busy.length === 0
      ? messageModal("Request access", noEligibleRolesCard(ctx.askWho))
      : requestModal(model);
  await client.views.update({ view_id: viewId, hash, view });
}

/** The form's dynamic parts: scope pickers, duration choices and the ticket field follow the roles picked. */
export function registerRequestForm(app: App, ctx: SlackContext): void {
  app.action({ action_id: FIELDS.roles, type: "block_actions" }, async ({ ack, body, client }) => {
    await ack();
    const view = body.view;
    if (!view) return;
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) return;
    const eligible = await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now());
    const model = buildRequestForm(eligible, pickedRoles(view.state.values));
    try {
      await client.views.update({ view_id: view.id, hash: view.hash, view: requestModal(model) });
    } catch (error) {
      // hash_conflict: a newer pick is already being drawn; that redraw wins.
      if ((error as { data?: { error?: string } }).data?.error !== "hash_conflict") throw error;
    }
  });

  app.options<"block_suggestion">({ action_id: FIELDS.roles }, async ({ ack, body }) => {
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) return ack({ options: [] });
    const eligible = await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now());
    const roles = searchRoles(eligible.filter((r) => !r.busy).map(toFormRole), body.value ?? "");
    await ack({
      options: roles.map((r) => ({
        text: { type: "plain_text" as const, text: truncatePlain(r.roleName, LIMITS.optionText) },
        value: r.roleId,
      })),
    });
  });

  app.view(FORMS.request, async ({ ack, body, view }) => {
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) {
      await ctx.identity.recordUnknown(body.user.id, "request form submission");
      return ack({ response_action: "errors", errors: { [FIELDS.roles]: UNKNOWN_USER_TEXT } });
    }
    const submission = readRequestForm(view.state.values);
    const eligible = await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now());
    const model = buildRequestForm(eligible, submission.roleIds);
    const problems = checkSubmission(model, submission);
    const errors: Record<string, string> = {};
    for (const [field, message] of Object.entries(problems))
      errors[errorBlockId(view.blocks, field as keyof typeof problems)] = message;
    if (Object.keys(errors).length > 0) return ack({ response_action: "errors", errors });

    const outcome = await requestActivation(ctx.deps, {
      requesterId: me.id,
      roles: submission.roleIds.map((roleId) => ({ roleId, scope: submission.scopes[roleId] ?? null })),
      durationMs: submission.durationMs!,
      justification: submission.justification,
      ticket: submission.ticket,
      origin: "slack",
    });
    if (!outcome.ok) {
      const scopeBlock = outcome.error.roleId ? scopeField(outcome.error.roleId) : "";
      const blockId =
        outcome.error.code === "SCOPE_NOT_ALLOWED" && view.blocks.some((b) => b.block_id === scopeBlock)
          ? scopeBlock
          : errorBlockId(view.blocks, fieldForRefusal(outcome.error.code));
      return ack({ response_action: "errors", errors: { [blockId]: outcome.error.message } });
    }
    await ack();
  });
}
