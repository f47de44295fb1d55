import type { types, webApi } from "@slack/bolt";
import { type Card, plainText, type Rich } from "../views/card.js";
import { cardToMessage, escapeText, LIMITS, mrkdwn, richToMrkdwn } from "./blocks.js";
import type { SlackContext } from "./context.js";
import { publishHome } from "./home.js";

/** Where an interaction came from, so a reply goes back to the same place. */
export interface Origin {
  userId: string;
  channelId: string | null;
  fromHome: boolean;
}

/** Reads the origin of a block_actions payload. */
export function originOf(body: {
  user: { id: string };
  channel?: { id: string };
  container?: { type?: string };
  view?: { type?: string };
}): Origin {
  return {
    userId: body.user.id,
    channelId: body.channel?.id ?? null,
    fromHome: body.view?.type === "home",
  };
}

export function messageOf(content: Card | Rich | string): { text: string; blocks: types.KnownBlock[] } {
  if (typeof content === "string") {
    const text = escapeText(content);
    return { text, blocks: [{ type: "section", text: mrkdwn(text, LIMITS.sectionText) }] };
  }
  if (Array.isArray(content)) {
    const text = richToMrkdwn(content);
    return { text, blocks: [{ type: "section", text: mrkdwn(text, LIMITS.sectionText) }] };
  }
  return cardToMessage(content);
}

/**
 * Tells one person something only they see: an ephemeral message where they clicked, a notice
 * on their home tab when they clicked there, else a direct message.
 */
export async function tell(ctx: SlackContext, client: webApi.WebClient, origin: Origin, content: Card | Rich | string) {
  if (origin.fromHome) {
    const notice =
      typeof content === "string" ? content : Array.isArray(content) ? plainText(content) : content.summary;
    return publishHome(ctx, client, origin.userId, notice);
  }
  const message = messageOf(content);
  if (origin.channelId) {
    await client.chat.postEphemeral({ channel: origin.channelId, user: origin.userId, ...message });
    return;
  }
  const dm = await client.conversations.open({ users: origin.userId });
  if (dm.channel?.id) await client.chat.postMessage({ channel: dm.channel.id, ...message });
}
