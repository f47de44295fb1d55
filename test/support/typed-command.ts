import { expect } from "vitest";
import { readBlocks } from "./slack/read-message.js";
import { slackIdOf } from "./slack/slack-world.js";
import { cardOf, readCard } from "./teams/read-card.js";
import { teamsUser } from "./teams/teams-world.js";
import type { Platform, World } from "./world.js";

/** What only the typist was shown in answer to a typed command: its words and its buttons. */
export interface TypedAnswer {
  text: string;
  buttons: { label: string; url?: string; value?: string }[];
}

/**
 * Types a command (`/elevate <text>` on Slack, `elevate <text>` to the bot on Teams) as `user`,
 * with `mentioned` carried as a Teams mention when given, and reads the answer only the typist was
 * shown: Slack's last ephemeral message to them, or on Teams the bot's reply to that message
 * (notices of the change arrive on their own).
 */
export async function typeCommand(
  w: World,
  platform: Platform,
  user: string,
  text: string,
  mentioned?: string,
): Promise<TypedAnswer> {
  if (platform === "slack") {
    const api = w.slackApi!;
    const before = api.ephemeralsFor(slackIdOf(user)).length;
    expect((await w.slack!.command(slackIdOf(user), text)).status).toBe(200);
    await w.settle();
    const reply = api.ephemeralsFor(slackIdOf(user)).slice(before).at(-1);
    if (!reply) return { text: "", buttons: [] };
    const read = readBlocks(reply.blocks, (id) => api.userName(id));
    return { text: read.text || reply.text, buttons: read.buttons };
  }
  const u = teamsUser(user);
  const where = w.teams!.personal(u);
  const before = w.connector!.inConversation(where.conversationId).length;
  const entities = mentioned
    ? [{ type: "mention", mentioned: { id: teamsUser(mentioned).id, name: mentioned }, text: `<at>${mentioned}</at>` }]
    : undefined;
  const activity = w.teams!.activity(u, where, {
    type: "message",
    text: `elevate ${text}`,
    textFormat: "plain",
    entities,
  });
  expect((await w.teams!.post(activity)).status).toBe(200);
  await w.settle();
  const reply = w
    .connector!.inConversation(where.conversationId)
    .slice(before)
    .filter((m) => m.replyToId === activity.id)
    .at(-1);
  if (!reply) return { text: "", buttons: [] };
  const read = readCard(cardOf(reply.activity) ?? {});
  return {
    text: read.text || String(reply.activity.text ?? ""),
    buttons: read.buttons.map((b) => ({ label: b.label, url: b.url, value: b.data.value as string | undefined })),
  };
}
