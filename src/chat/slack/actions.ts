import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { runClick } from "../flows/clicks.js";
import { ACTIONS } from "../views/action-ids.js";
import { LINK_ACTION } from "./blocks.js";
import { commentOf } from "./comment.js";
import { requestIdIn, type SlackContext } from "./context.js";
import { slackInteraction } from "./interaction.js";
import { originOf } from "./reply.js";

type ButtonClick = BlockAction<ButtonAction>;

/** Every button of the product, and its numbered twins in the same block (`pim.end`, `pim.end:1`). */
const BUTTON = new RegExp(
  `^(${Object.values(ACTIONS)
    .map((id) => id.replace(/\./g, "\\."))
    .join("|")})(:\\d+)?$`,
);

/**
 * Buttons. Each acks at once, then hands the click to its flow with who clicked (from Slack's
 * verified user id) and how to answer them; the button's value only names what it is about.
 */
export function registerActions(app: App, ctx: SlackContext): void {
  app.action<ButtonClick>(
    { type: "block_actions", action_id: BUTTON },
    async ({ ack, body, action, client, context, respond }) => {
      await ack();
      const actionId = action.action_id.replace(/:\d+$/, "");
      const value = action.value ?? "";
      const ix = slackInteraction(ctx, {
        client,
        origin: originOf(body),
        triggerId: body.trigger_id,
        requestId: requestIdIn(context),
        ...(body.response_url ? { responseUrl: respond } : {}),
      });
      await runClick(ctx.flows, ix, actionId, value, { comment: commentOf(body, value) });
    },
  );

  // Link buttons (the MFA page) open in the browser; Slack still tells the app, which has nothing to do.
  app.action(
    { type: "block_actions", action_id: new RegExp(`^${LINK_ACTION.replace(/\./g, "\\.")}(:\\d+)?$`) },
    async ({ ack }) => ack(),
  );
}
