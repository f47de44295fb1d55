/**
 * Access reviews and alerts on Slack: Keep and Remove on review cards (Remove asks for an optional
 * reason in a small modal), Apply on a summary, and `/elevate review <name>` for administrators.
 * The clicker is whoever Slack says clicked; the button's value only names the item.
 */
import type { App, RespondFn, SlashCommand, types } from "@slack/bolt";
import { recordDecision } from "../../app/review-decisions.js";
import { applyReview } from "../../app/run-review.js";
import { declaredReviews, startReviewFromChat } from "../../app/start-review.js";
import type { Principal } from "../../db/repos/directory.js";
import { ACTIONS, FIELDS, FORMS } from "../views/action-ids.js";
import { LIMITS, plain } from "./blocks.js";
import { type ButtonClick, button, clickerOf } from "./clicks.js";
import type { SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { messageOf, originOf, tell } from "./reply.js";

export function registerReviewActions(app: App, ctx: SlackContext): void {
  const whoClicked = clickerOf(ctx);

  app.action<ButtonClick>(button(ACTIONS.reviewKeep), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "review keep");
    if (!me) return;
    const decided = await recordDecision(ctx.deps, me.id, { itemId: action.value ?? "", decision: "keep" });
    if (!decided.ok) await tell(ctx, client, origin, decided.error.message);
  });

  app.action<ButtonClick>(button(ACTIONS.reviewRemove), async ({ ack, body, action, client }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: removeModal(action.value ?? "") });
  });

  app.view(FORMS.reviewRemove, async ({ ack, body, view }) => {
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) {
      await ctx.identity.recordUnknown(body.user.id, "review remove");
      return ack({ response_action: "errors", errors: { [FIELDS.reason]: UNKNOWN_USER_TEXT } });
    }
    const raw = view.state.values[FIELDS.reason]?.[FIELDS.reason]?.value;
    const decided = await recordDecision(ctx.deps, me.id, {
      itemId: view.private_metadata,
      decision: "remove",
      reason: typeof raw === "string" ? raw : null,
    });
    if (!decided.ok) return ack({ response_action: "errors", errors: { [FIELDS.reason]: decided.error.message } });
    await ack();
  });

  app.action<ButtonClick>(button(ACTIONS.reviewApply), async ({ ack, body, action, client }) => {
    await ack();
    const origin = originOf(body);
    const me = await whoClicked(client, origin, "apply review");
    if (!me) return;
    const applied = await applyReview(ctx.deps, action.value ?? "", me.id);
    await tell(
      ctx,
      client,
      origin,
      applied.ok ? `Done: ${applied.value.removed} assignments removed and audited.` : applied.error.message,
    );
  });
}

/** `/elevate review <review name | role>`: an administrator starts an access review now. */
export async function reviewSubcommand(
  ctx: SlackContext,
  me: Principal,
  args: string,
  _cmd: SlashCommand,
  respond: RespondFn,
): Promise<void> {
  const started = await startReviewFromChat(ctx.deps, me.id, args, await declaredReviews(ctx.deps.db));
  const text = started.ok
    ? `${started.value.campaign.settings.title} started: ${started.value.items} assignments to review; the reviewers are being asked now.`
    : started.error.message;
  await respond({ response_type: "ephemeral", ...messageOf(text) });
}

function removeModal(itemId: string): types.ModalView {
  return {
    type: "modal",
    callback_id: FORMS.reviewRemove,
    private_metadata: itemId.slice(0, LIMITS.privateMetadata),
    title: plain("Remove access", LIMITS.viewTitle),
    submit: plain("Remove", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      {
        type: "section",
        text: {
          type: "plain_text",
          text: "The assignment is removed when the review ends (and revoked if it is held now).",
        },
      },
      {
        type: "input",
        block_id: FIELDS.reason,
        optional: true,
        label: plain("Why? (optional)", LIMITS.inputLabel),
        hint: plain("Kept in the audit log with your decision.", LIMITS.inputHint),
        element: { type: "plain_text_input", action_id: FIELDS.reason, multiline: true, max_length: 1000 },
      },
    ],
  };
}
