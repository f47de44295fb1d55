import type { TurnContext } from "botbuilder";
import type { FormRequest, Interaction, ListView, Principal, Reply } from "../flows/interaction.js";
import type { Card, Rich } from "../views/card.js";
import type { TeamsContext } from "./context.js";
import { postForm } from "./forms.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { replyCard, replyNote } from "./reply.js";

/** What a click wrote on the card it came from. */
export type Notice = { text: Rich; tone: "good" | "attention" | "warning" | "default" };

/** A personal chat with the bot, as opposed to a team channel or a group chat that others read. */
export const isPersonal = (turn: TurnContext) =>
  (turn.activity.conversation?.conversationType ?? "personal") === "personal" && !turn.activity.conversation?.isGroup;

const isCard = (content: Reply): content is Card => typeof content === "object" && !Array.isArray(content);

/** Answers in the chat itself: a card, or a one-line note. */
export function replyIn(turn: TurnContext, content: Reply, view?: ListView): Promise<void> {
  return isCard(content) ? replyCard(turn, content, view ?? "note") : replyNote(turn, content);
}

/**
 * A Teams message or card click as the flows see it. For a click, what the flow says is written
 * on the clicked card (the invoke's answer); a card it sends (a step-up link) follows in the chat.
 */
export function teamsInteraction(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal | undefined,
  kind: "message" | "click",
): Interaction & { notice: Notice | null } {
  const ix = {
    platform: "teams" as const,
    personal: isPersonal(turn),
    notice: null as Notice | null,
    async identify(attempted: string) {
      if (me) return me;
      await ctx.identity.recordUnknown(turn, attempted);
      await ix.reply(UNKNOWN_USER_TEXT);
      return undefined;
    },
    async reply(content: Reply, view?: ListView) {
      if (kind === "message") return replyIn(turn, content, view);
      if (isCard(content)) {
        await replyCard(turn, content, view ?? "note");
        ix.notice = { text: [content.summary], tone: "attention" };
      } else ix.notice = { text: typeof content === "string" ? [content] : content, tone: "attention" };
    },
    async confirm(text: string) {
      if (kind === "click") ix.notice = { text: [text], tone: "good" };
    },
    async openForm(form: FormRequest) {
      if (!me) return;
      const notice = await postForm(ctx, turn, me, form);
      if (kind === "click") ix.notice = { text: [notice.text], tone: notice.tone };
    },
  };
  return ix;
}
