import type { App } from "@slack/bolt";
import { type DecideRefusal, decide } from "../../app/decide.js";
import { cancelRequest, deactivate } from "../../app/end-activation.js";
import { getRequestView } from "../../app/queries.js";
import { ACTIONS, FIELDS, FORMS } from "../views/action-ids.js";
import { alreadyDecidedLine } from "../views/approval-card.js";
import { type Card, plainText, type Rich } from "../views/card.js";
import { LINK_ACTION } from "./blocks.js";
import { type ButtonClick, button, clickerOf } from "./clicks.js";
import type { SlackContext } from "./context.js";
import { openExtendForm } from "./extend-flow.js";
import { publishHome } from "./home.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { denyModal, readComment } from "./modals.js";
import { originOf, tell } from "./reply.js";
import { openRequestForm } from "./request-flow.js";

/**
 * Buttons. Each acks at once, then finds out who clicked from Slack's verified user id and lets
 * the engine decide whether they may: the button's value only names what it is about.
 */
export function registerActions(app: App, ctx: SlackContext): void {
  const whoClicked = clickerOf(ctx);

  app.action<ButtonClick>(button(ACTIONS.approve), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "approve");
    if (!me) return;
    const requestId = action.value ?? "";
    const decided = await decide(ctx.deps, { requestId, approverId: me.id, decision: "approve" });
    if (!decided.ok && decided.error.code === "STEP_UP_REQUIRED")
      await tell(ctx, client, origin, await stepUpCard(ctx, requestId, me.id, decided.error.message));
    else if (!decided.ok) await tell(ctx, client, origin, await refusalText(ctx, requestId, decided.error));
    else if (origin.fromHome) await publishHome(ctx, client, origin.userId, "Approved.");
    await ctx.notifier.syncRequest(requestId);
  });

  app.action<ButtonClick>(button(ACTIONS.deny), async ({ ack, body, action, client }) => {
    await ack();
    await client.views.open({
      trigger_id: body.trigger_id,
      view: denyModal(action.value ?? "", "Deny this request? Everything it asked for is refused."),
    });
  });

  app.view(FORMS.deny, async ({ ack, body, view }) => {
    const requestId = view.private_metadata;
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) {
      await ctx.identity.recordUnknown(body.user.id, "deny");
      return ack({ response_action: "errors", errors: { [FIELDS.comment]: UNKNOWN_USER_TEXT } });
    }
    const decided = await decide(ctx.deps, {
      requestId,
      approverId: me.id,
      decision: "deny",
      comment: readComment(view.state.values),
    });
    if (!decided.ok) {
      const text = await refusalText(ctx, requestId, decided.error);
      await ack({ response_action: "errors", errors: { [FIELDS.comment]: plainText(text) } });
    } else await ack();
    await ctx.notifier.syncRequest(requestId);
  });

  app.action<ButtonClick>(button(ACTIONS.cancel), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "cancel");
    if (!me) return;
    const canceled = await cancelRequest(ctx.deps, action.value ?? "", me.id);
    if (!canceled.ok) await tell(ctx, client, origin, canceled.error.message);
    else if (origin.fromHome) await publishHome(ctx, client, origin.userId, "Request canceled.");
  });

  app.action<ButtonClick>(button(ACTIONS.endNow), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "end now");
    if (!me) return;
    const ended = await deactivate(ctx.deps, action.value ?? "", me.id);
    if (!ended.ok) await tell(ctx, client, origin, ended.error.message);
    else if (origin.fromHome) await publishHome(ctx, client, origin.userId, "Ending it now; it is being revoked.");
  });

  app.action<ButtonClick>(button(ACTIONS.extend), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "extend");
    if (!me) return;
    const refusal = await openExtendForm(ctx, client, body.trigger_id, me, action.value ?? "");
    if (refusal) await tell(ctx, client, origin, refusal);
  });

  app.action<ButtonClick>(button(ACTIONS.activate), async ({ ack, body, action, client }) => {
    await ack();
    await openRequestForm(ctx, client, body.trigger_id, body.user.id, action.value || null);
  });

  app.action<ButtonClick>(button(ACTIONS.acknowledge), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "acknowledge alert");
    if (!me) return;
    if (!ctx.hooks.acknowledgeAlert) {
      await tell(ctx, client, origin, "Acknowledging alerts is not available in this version.");
      return;
    }
    const alert = await ctx.hooks.acknowledgeAlert(action.value ?? "", me.id);
    if (alert) await ctx.notifier.showAlert(alert);
  });

  // Link buttons (the MFA page) open in the browser; Slack still tells the app, which has nothing to do.
  app.action(button(LINK_ACTION), async ({ ack }) => ack());
}

/** A refusal in words; a late click is told who decided and when. */
async function refusalText(ctx: SlackContext, requestId: string, refusal: DecideRefusal): Promise<Rich> {
  if (!refusal.decidedBy) return [refusal.message];
  const view = await getRequestView(ctx.deps.db, requestId, ctx.deps.clock.now());
  return alreadyDecidedLine(refusal.decidedBy, view ? view.decisions.map((d) => d.approver) : []);
}

/** Approving this role needs the approver's own MFA first: the link to do it, when there is one. */
async function stepUpCard(ctx: SlackContext, requestId: string, approverId: string, message: string): Promise<Card> {
  const url = ctx.hooks.approvalStepUpLinkFor ? await ctx.hooks.approvalStepUpLinkFor(requestId, approverId) : null;
  return {
    header: "Confirm with MFA to approve",
    tone: "waiting",
    summary: message,
    blocks: [
      { type: "text", text: [message] },
      ...(url
        ? [
            {
              type: "buttons" as const,
              buttons: [{ kind: "link" as const, url, label: "Confirm and approve", style: "primary" as const }],
            },
          ]
        : [{ type: "text" as const, text: ["No step-up link could be made here; ask a PIM administrator."] }]),
    ],
  };
}
