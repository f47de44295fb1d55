import type { App } from "@slack/bolt";
import { runCommand, splitCommand } from "../flows/commands.js";
import type { Reply } from "../flows/interaction.js";
import { requestIdIn, type SlackContext } from "./context.js";
import { slackInteraction } from "./interaction.js";
import { messageOf } from "./reply.js";

/**
 * `/elevate` and its subcommands, handed to the command flow. Help rides on the ack itself (it
 * needs nothing else); everything else is acked at once and answered through response_url, so
 * Slack's 3-second limit is never at the mercy of the database.
 */
export function registerCommands(app: App, ctx: SlackContext): void {
  app.command(ctx.command, async ({ command, ack, respond, client, context }) => {
    let acked = false;
    const ackOnce = async (content?: Reply) => {
      if (acked) return false;
      acked = true;
      await (content === undefined ? ack() : ack({ response_type: "ephemeral", ...messageOf(content) }));
      return true;
    };
    if (splitCommand(command.text).sub !== "help") await ackOnce();
    try {
      const ix = slackInteraction(ctx, {
        client,
        origin: { userId: command.user_id, channelId: command.channel_id, fromHome: false },
        triggerId: command.trigger_id,
        requestId: requestIdIn(context),
        async respond(content) {
          if (await ackOnce(content)) return;
          await respond({ response_type: "ephemeral", ...messageOf(content) });
        },
      });
      await runCommand(ctx.flows, ix, command.text);
    } finally {
      await ackOnce();
    }
  });
}
