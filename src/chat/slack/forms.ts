/**
 * Slack's forms are modals: opened with a trigger id that lives 3 seconds and works once, checked
 * by the flows when submitted, their errors shown under the fields they are about.
 */
import type { App, ViewResponseAction, ViewSubmitAction, webApi } from "@slack/bolt";
import { requestableRoles } from "../../app/activation/views.js";
import { assignForm, removeAssignmentForm, submitAssign, submitRemoveAssignment } from "../flows/admin.js";
import { askedReceipt, assignmentForm, type LifecycleRequest, submitAssignmentForm } from "../flows/assignments.js";
import {
  extendForm,
  type FieldErrors,
  requestForm,
  type Submitted,
  submitDeny,
  submitExtend,
  submitRequest,
  submitReviewRemove,
} from "../flows/forms.js";
import type { FormRequest } from "../flows/interaction.js";
import { actionFailed, formNotSaved, logNotRecorded, tryRecording } from "../flows/recording.js";
import { revokeForm, submitRevoke } from "../flows/revoke.js";
import { FIELDS, FORMS } from "../views/action-ids.js";
import type { Card } from "../views/card.js";
import { searchRoles, toFormRole } from "../views/request-form.js";
import { noEligibleRolesCard } from "../views/roles-list.js";
import { assignModal, readAssignForm, removeAssignmentModal } from "./admin-modals.js";
import { escapeText, LIMITS, truncateMrkdwn, truncatePlain } from "./blocks.js";
import { type Principal, requestIdIn, type SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import {
  assignmentModal,
  denyModal,
  errorBlockId,
  extendModal,
  loadingModal,
  messageModal,
  pickedRoles,
  readAssignmentForm,
  readComment,
  readRequestForm,
  removeModal,
  requestModal,
  revokeModal,
} from "./modals.js";

/** Opens the form a flow asked for; returns why not, when it cannot be opened. */
export async function openForm(
  ctx: SlackContext,
  client: webApi.WebClient,
  triggerId: string,
  slackUserId: string,
  form: FormRequest,
): Promise<string | null> {
  switch (form.kind) {
    case "request":
      await openRequestForm(ctx, client, triggerId, slackUserId, form.preselectRoleId);
      return null;
    case "extend": {
      const me = await ctx.identity.resolve(slackUserId);
      if (!me) return UNKNOWN_USER_TEXT;
      const found = await extendForm(ctx.flows, me, form.activationId);
      if (typeof found === "string") return found;
      await client.views.open({
        trigger_id: triggerId,
        view: extendModal(found.activationId, found.roleName, found.choices, found.justification),
      });
      return null;
    }
    case "deny":
      await client.views.open({
        trigger_id: triggerId,
        view: denyModal(form.requestId, "Deny this request? Everything it asked for is refused."),
      });
      return null;
    case "review-remove":
      await client.views.open({ trigger_id: triggerId, view: removeModal(form.itemId) });
      return null;
    case "revoke": {
      const found = await revokeForm(ctx.flows, form.activationId);
      if (typeof found === "string") return found;
      await client.views.open({ trigger_id: triggerId, view: revokeModal(found) });
      return null;
    }
    case "assignment-extend":
    case "assignment-renew": {
      const me = await ctx.identity.resolve(slackUserId);
      if (!me) return UNKNOWN_USER_TEXT;
      const found = await assignmentForm(ctx.flows, me, form.assignmentId, lifecycleOf(form.kind));
      if (typeof found === "string") return found;
      await client.views.open({ trigger_id: triggerId, view: assignmentModal(found) });
      return null;
    }
    case "assign":
      return openAssignForm(ctx, client, triggerId, slackUserId);
    case "assignment-remove": {
      const found = await removeAssignmentForm(ctx.flows, form.assignmentId);
      if (typeof found === "string") return found;
      await client.views.open({ trigger_id: triggerId, view: removeAssignmentModal(found) });
      return null;
    }
  }
}

const lifecycleOf = (kind: "assignment-extend" | "assignment-renew"): LifecycleRequest =>
  kind === "assignment-extend" ? "extend" : "renew";

/** The assignment form, for administrators; anyone else is told why not (and audited). */
async function openAssignForm(
  ctx: SlackContext,
  client: webApi.WebClient,
  triggerId: string,
  slackUserId: string,
): Promise<string | null> {
  const me = await ctx.identity.resolve(slackUserId);
  if (!me) return UNKNOWN_USER_TEXT;
  const model = await assignForm(ctx.flows, me);
  if (typeof model === "string") return model;
  await client.views.open({ trigger_id: triggerId, view: assignModal(model) });
  return null;
}

/**
 * Opens the request form. A "loading" modal is opened with the trigger id before anything else,
 * and the real form replaces it when the roles are known.
 */
async function openRequestForm(
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
  const model = await requestForm(ctx.flows, me, preselectRoleId ? [preselectRoleId] : []);
  // A roles picker with no options is refused by Slack: every role may be active or pending already.
  const view =
    model.roles.length > 0
      ? requestModal(model)
      : model.busy.length > 0
        ? messageModal(
            "Request access",
            truncateMrkdwn(
              `Everything you can request is already active or pending: ${escapeText(model.busy.join(", "))}. Use \`${ctx.command} extend\` for more time.`,
              LIMITS.sectionText,
            ),
          )
        : messageModal("Request access", noEligibleRolesCard(ctx.askWho));
  await client.views.update({ view_id: viewId, hash, view });
}

type ViewAck = (response?: ViewResponseAction) => Promise<void>;

/** Who submitted a form; someone PIM does not know is audited and gets the error on `field`. */
async function submitter(
  ctx: SlackContext,
  slackUserId: string,
  attempted: string,
  field: string,
): Promise<{ ok: true; me: Principal } | { ok: false; errors: FieldErrors }> {
  const me = await ctx.identity.resolve(slackUserId);
  if (me) return { ok: true, me };
  await ctx.identity.recordUnknown(slackUserId, attempted);
  return { ok: false, errors: { [field]: UNKNOWN_USER_TEXT } };
}

const ackErrors = (ack: ViewAck, errors: FieldErrors) => ack({ response_action: "errors", errors });

/**
 * Runs a form's submission for the person who sent it, again while Slack still waits for the
 * answer when the database failed it for a moment. A submission that could not be saved stays
 * open with what was typed, and the error under `field` says to submit again.
 */
async function submission(
  ctx: SlackContext,
  body: { user: { id: string } },
  context: Record<string, unknown>,
  form: { attempted: string; field: string },
  submit: (me: Principal) => Promise<Submitted<unknown>>,
): Promise<Submitted<unknown>> {
  const requestId = requestIdIn(context);
  const log = ctx.log.child({ requestId, form: form.attempted });
  const { recording } = ctx.flows;
  const recorded = await tryRecording(recording, log, recording.modalMs, async () => {
    const who = await submitter(ctx, body.user.id, form.attempted, form.field);
    return who.ok ? submit(who.me) : who;
  }).catch((error: unknown) => {
    log.error({ err: error }, `the ${form.attempted} failed`);
    return null;
  });
  if (!recorded) return { ok: false, errors: { [form.field]: actionFailed(requestId) } };
  if (recorded.ok) return recorded.value;
  logNotRecorded(log, recorded, `the ${form.attempted}`);
  return { ok: false, errors: { [form.field]: formNotSaved(requestId) } };
}

export function registerForms(app: App, ctx: SlackContext): void {
  // The request form's dynamic parts: scope pickers, duration choices and the ticket field follow the roles picked.
  app.action({ action_id: FIELDS.roles, type: "block_actions" }, async ({ ack, body, client }) => {
    await ack();
    const view = body.view;
    if (!view) return;
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) return;
    const model = await requestForm(ctx.flows, me, pickedRoles(view.state.values));
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

  app.view<ViewSubmitAction>(FORMS.request, async ({ ack, body, view, context }) => {
    const submitted = await submission(
      ctx,
      body,
      context,
      { attempted: "request form submission", field: FIELDS.roles },
      (me) => submitRequest(ctx.flows, { me, platform: "slack" }, readRequestForm(view.state.values)),
    );
    if (submitted.ok) return ack();
    const errors: FieldErrors = {};
    for (const [field, message] of Object.entries(submitted.errors)) {
      const block = view.blocks.some((b) => b.block_id === field)
        ? field
        : errorBlockId(view.blocks, field as Parameters<typeof errorBlockId>[1]);
      errors[block] = message;
    }
    await ackErrors(ack, errors);
  });

  app.view<ViewSubmitAction>(FORMS.extend, async ({ ack, body, view, context }) => {
    const form = readRequestForm(view.state.values);
    const submitted = await submission(
      ctx,
      body,
      context,
      { attempted: "extend form submission", field: FIELDS.duration },
      (me) => submitExtend(ctx.flows, { me, platform: "slack" }, view.private_metadata, form),
    );
    await (submitted.ok ? ack() : ackErrors(ack, submitted.errors));
  });

  app.view<ViewSubmitAction>(FORMS.deny, async ({ ack, body, view, context }) => {
    const submitted = await submission(ctx, body, context, { attempted: "deny", field: FIELDS.comment }, (me) =>
      submitDeny(ctx.flows, { me }, view.private_metadata, readComment(view.state.values)),
    );
    await (submitted.ok ? ack() : ackErrors(ack, submitted.errors));
  });

  app.view<ViewSubmitAction>(FORMS.reviewRemove, async ({ ack, body, view, context }) => {
    const raw = view.state.values[FIELDS.reason]?.[FIELDS.reason]?.value;
    const reason = typeof raw === "string" ? raw : null;
    const submitted = await submission(ctx, body, context, { attempted: "review remove", field: FIELDS.reason }, (me) =>
      submitReviewRemove(ctx.flows, { me }, view.private_metadata, reason),
    );
    await (submitted.ok ? ack() : ackErrors(ack, submitted.errors));
  });

  app.view<ViewSubmitAction>(FORMS.assign, async ({ ack, body, view, context }) => {
    const submitted = await submission(
      ctx,
      body,
      context,
      { attempted: "assignment form submission", field: FIELDS.principal },
      (me) => submitAssign(ctx.flows, { me, platform: "slack" }, readAssignForm(view.state.values)),
    );
    if (!submitted.ok) return ackErrors(ack, submitted.errors);
    // What it came to (and the step-up link an active assignment may wait for) replaces the form.
    await ack({
      response_action: "update",
      view: messageModal("Assign a role", submitted.value as Card, FORMS.assign),
    });
  });

  app.view<ViewSubmitAction>(FORMS.assignmentRemove, async ({ ack, body, view, context }) => {
    const raw = view.state.values[FIELDS.reason]?.[FIELDS.reason]?.value;
    const reason = typeof raw === "string" ? raw : null;
    const submitted = await submission(
      ctx,
      body,
      context,
      { attempted: "remove assignment", field: FIELDS.reason },
      (me) => submitRemoveAssignment(ctx.flows, { me }, view.private_metadata, reason),
    );
    if (!submitted.ok) return ackErrors(ack, submitted.errors);
    const done = submitted.value as string;
    const card: Card = { header: "Removed", tone: "success", summary: done, blocks: [{ type: "text", text: [done] }] };
    await ack({ response_action: "update", view: messageModal("Remove assignment", card, FORMS.assignmentRemove) });
  });

  app.view<ViewSubmitAction>(FORMS.revoke, async ({ ack, body, view, context }) => {
    const raw = view.state.values[FIELDS.reason]?.[FIELDS.reason]?.value;
    const reason = typeof raw === "string" ? raw : null;
    const submitted = await submission(ctx, body, context, { attempted: "revoke", field: FIELDS.reason }, (me) =>
      submitRevoke(ctx.flows, { me }, view.private_metadata, reason),
    );
    await (submitted.ok ? ack() : ackErrors(ack, submitted.errors));
  });

  for (const [callbackId, request] of [
    [FORMS.assignmentExtend, "extend"],
    [FORMS.assignmentRenew, "renew"],
  ] as const)
    app.view<ViewSubmitAction>(callbackId, async ({ ack, body, view, context }) => {
      const submitted = await submission(
        ctx,
        body,
        context,
        { attempted: `${request} assignment`, field: FIELDS.reason },
        (me) =>
          submitAssignmentForm(
            ctx.flows,
            { me },
            request,
            view.private_metadata,
            readAssignmentForm(view.state.values),
          ),
      );
      if (!submitted.ok) return ackErrors(ack, submitted.errors);
      // The modal says what was asked; the outcome comes as a direct message once an administrator decides.
      const { roleName, endsAt } = submitted.value as { roleName: string; endsAt: Date };
      await ack({
        response_action: "update",
        view: messageModal("Asked", receiptCard(askedReceipt(request, roleName, endsAt)), callbackId),
      });
    });
}

const receiptCard = (text: string): Card => ({
  header: "Asked",
  tone: "info",
  summary: text,
  blocks: [{ type: "text", text: [text] }],
});
