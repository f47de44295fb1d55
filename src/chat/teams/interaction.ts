import type { TurnContext } from "botbuilder";
import type { FormRequest, Interaction, ListView, OutgoingFile, Principal, Reply } from "../flows/interaction.js";
import type { Card, Rich } from "../views/card.js";
import { downloadCard } from "../views/download-card.js";
import type { TeamsContext } from "./context.js";
import { postForm } from "./forms.js";
import { requestIdOfTurn } from "./http-shim.js";
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

/** Who sent the activity: known already, or looked up when the flow first asks (inside its retries). */
export type Sender = Principal | undefined | (() => Promise<Principal | undefined>);

/**
 * A Teams message or card click as the flows see it. For a click, what the flow says is written
 * on the clicked card (the invoke's answer); a card it sends (a step-up link) follows in the chat.
 * `attempted` names a click by its verb in the audit of someone PIM does not know.
 */
export function teamsInteraction(
  ctx: TeamsContext,
  turn: TurnContext,
  sender: Sender,
  kind: "message" | "click",
  attempted?: string,
): TeamsInteraction {
  let answerLate: (text: string) => void = () => {};
  // Once Teams has had its answer (a click still being tried), the person is answered in the chat.
  const inChat = () => kind === "message" || ix.isLate;
  const ix = {
    platform: "teams" as const,
    personal: isPersonal(turn),
    requestId: requestIdOfTurn(turn),
    // A click may be tried again for the whole window: past Teams' wait, its answer says so and
    // what follows comes as a message in the chat.
    retryWithinMs: kind === "click" ? ctx.flows.recording.windowMs : ctx.flows.recording.answerMs,
    answerWithinMs: ctx.flows.recording.answerMs,
    /** Resolves with what to tell Teams when the click outlasts its wait. */
    answeredLate: new Promise<string>((resolve) => {
      answerLate = resolve;
    }),
    isLate: false,
    late(text: string) {
      ix.isLate = true;
      answerLate(text);
    },
    notice: null as Notice | null,
    /** Why the action did not count: shown as the card's error, which keeps the card as it was. */
    failure: null as string | null,
    me: typeof sender === "function" ? undefined : sender,
    async notRecorded(text: string) {
      if (inChat()) await replyNote(turn, text);
      else ix.failure = text;
    },
    async identify(asked: string) {
      const me = typeof sender === "function" ? await sender() : sender;
      ix.me = me;
      if (me) return me;
      await ctx.identity.recordUnknown(turn, attempted ?? asked);
      await ix.reply(UNKNOWN_USER_TEXT);
      return undefined;
    },
    async reply(content: Reply, view?: ListView) {
      if (inChat()) return replyIn(turn, content, view);
      if (isCard(content)) {
        await replyCard(turn, content, view ?? "note");
        ix.notice = { text: [content.summary], tone: "attention" };
      } else ix.notice = { text: typeof content === "string" ? [content] : content, tone: "attention" };
    },
    async confirm(text: string) {
      // Late, the clicked card is redrawn by the notifier with what happened.
      if (!inChat()) ix.notice = { text: [text], tone: "good" };
    },
    async openForm(form: FormRequest) {
      if (!ix.me) return;
      const notice = await postForm(ctx, turn, ix.me, form);
      if (!inChat()) ix.notice = { text: [notice.text], tone: notice.tone };
    },
    async sendFile(file: OutgoingFile) {
      // A bot cannot put a file in a personal chat without asking first: a link that works once, for a while.
      if (!ix.me) return;
      const { filename, contentType, content } = file;
      const link = await ctx.ports.downloadLinkFor(ix.me.id, { filename, contentType, content });
      await ix.reply(downloadCard(file, link));
    },
  };
  return ix;
}

export type TeamsInteraction = Interaction & {
  notice: Notice | null;
  failure: string | null;
  me: Principal | undefined;
  answeredLate: Promise<string>;
  isLate: boolean;
};
