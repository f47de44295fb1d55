import type { RespondFn, webApi } from "@slack/bolt";
import type { FormRequest, Interaction, Reply } from "../flows/interaction.js";
import { escapeText } from "./blocks.js";
import type { SlackContext } from "./context.js";
import { openForm } from "./forms.js";
import { publishHome } from "./home.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { messageOf, type Origin, tell } from "./reply.js";

const TRIGGER_GONE = new Set(["expired_trigger_id", "exchanged_trigger_id"]);

/** How a Slack interaction answers: where the person acted, and a trigger id for a modal. */
export interface SlackWhere {
  client: webApi.WebClient;
  origin: Origin;
  triggerId: string | undefined;
  /** The id of the HTTP request it came in on. */
  requestId: string;
  /** Answers a slash command privately (the ack or response_url); clicks answer with tell(). */
  respond?: (content: Reply) => Promise<void>;
  /** The clicked message's response_url, which needs no database and lasts 30 minutes. */
  responseUrl?: RespondFn;
}

/**
 * A Slack command or click as the flows see it. Slack answers only the person in every case (an
 * ephemeral message, the home tab, or a DM), so every interaction is personal.
 */
export function slackInteraction(ctx: SlackContext, where: SlackWhere): Interaction {
  const reply = (content: Reply) =>
    where.respond ? where.respond(content) : tell(ctx, where.client, where.origin, content);
  return {
    platform: "slack",
    personal: true,
    requestId: where.requestId,
    // Slack was answered before the work began: the whole window is there to record it.
    retryWithinMs: ctx.flows.recording.windowMs,
    answerWithinMs: Number.POSITIVE_INFINITY,
    late() {},
    async notRecorded(text) {
      if (where.respond) return where.respond(text);
      if (where.responseUrl)
        return void (await where.responseUrl({
          response_type: "ephemeral",
          replace_original: false,
          ...messageOf(text),
        }));
      // The home tab is drawn from the database: an ephemeral message or a DM instead.
      await tell(ctx, where.client, { ...where.origin, fromHome: false }, text);
    },
    async identify(attempted) {
      const me = await ctx.identity.resolve(where.origin.userId);
      if (me) return me;
      await ctx.identity.recordUnknown(where.origin.userId, attempted);
      await reply(UNKNOWN_USER_TEXT);
      return undefined;
    },
    reply,
    async confirm(text, always = false) {
      // A clicked card is redrawn in place and says what happened; the home tab is redrawn with the note.
      if (where.origin.fromHome) await publishHome(ctx, where.client, where.origin.userId, text);
      else if (always) await reply(text);
    },
    async openForm(form: FormRequest) {
      if (!where.triggerId) return reply("Open this from Slack again; the form could not be opened here.");
      const refusal = await openForm(ctx, where.client, where.triggerId, where.origin.userId, form).catch(
        (error: unknown) => {
          // A trigger id lives 3 seconds: a click that waited for the database cannot open a modal any more.
          if (!TRIGGER_GONE.has((error as { data?: { error?: string } }).data?.error ?? "")) throw error;
          return "The form could not be opened in time; click again.";
        },
      );
      if (refusal) await reply(refusal);
    },
    async sendFile(file) {
      // Uploaded into the direct message with the bot (files.getUploadURLExternal, the upload, files.completeUploadExternal).
      const dm = await where.client.conversations.open({ users: where.origin.userId });
      const channel = dm.channel?.id;
      if (!channel) return reply("I could not open a direct message with you to send the file.");
      const refused = await where.client
        .filesUploadV2({
          channel_id: channel,
          file: file.content,
          filename: file.filename,
          title: file.title,
          initial_comment: escapeText(file.note),
        })
        .then(
          () => null,
          (error: { data?: { error?: string } }) => {
            // Slack's own "no" (an app installed without files:write) is said; anything else is a failure.
            if (!error?.data?.error) throw error;
            return error.data.error;
          },
        );
      if (refused)
        return reply(
          refused === "missing_scope"
            ? "Slack did not let me upload the file: the app lacks the files:write scope. Ask whoever installed it to add the scope and reinstall it."
            : `Slack did not let me upload the file (${refused}); try again later.`,
        );
      if (channel !== where.origin.channelId) await reply(`${file.note} It is in your direct messages with me.`);
    },
  };
}
