import { type Mention, type TeamsChannelAccount, TeamsInfo, type TurnContext } from "botbuilder";
import { runCommand } from "../flows/commands.js";
import type { Principal, TeamsContext } from "./context.js";
import { teamsInteraction } from "./interaction.js";

/** What a person typed, without the @mention Teams adds in channels and without the command word. */
export function parseCommand(text: string, command: string): { sub: string; args: string } {
  const plain = text
    .replace(/<at[^>]*>.*?<\/at>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .trim();
  const words = plain.split(/\s+/).filter(Boolean);
  if (words[0] && words[0].replace(/^\//, "").toLowerCase() === command.toLowerCase()) words.shift();
  const [first = "", ...rest] = words;
  return { sub: first.toLowerCase(), args: rest.join(" ") };
}

/**
 * `elevate` and its subcommands, typed in a chat or picked from the command menu (which sends the
 * bare word: "status"), handed to the command flow.
 */
export async function onCommand(ctx: TeamsContext, turn: TurnContext, me: Principal | undefined): Promise<void> {
  const { sub, args } = parseCommand(turn.activity.text ?? "", ctx.command);
  // An administrator's `revoke @person …`, `admin assign @person …` and `audit person:@person` name
  // the person with a mention: its Entra object id, from Teams, where the mention stood.
  const [adminSub = "", ...adminArgs] = args.split(" ");
  const names = sub === "revoke" || sub === "audit" || (sub === "admin" && adminSub.toLowerCase() === "assign");
  const person = names && me ? await mentionedPerson(ctx, turn) : null;
  const text = !person
    ? `${sub} ${args}`
    : sub === "revoke"
      ? `${sub} <@${person}> ${args}`
      : sub === "audit"
        ? `${sub} ${args.replace(/(^|\s)person:(?=\s|$)/i, `$1person:<@${person}>`)}`
        : `${sub} ${adminSub} <@${person}> ${adminArgs.join(" ")}`;
  await runCommand(ctx.flows, teamsInteraction(ctx, turn, me, "message"), text);
}

/**
 * The Entra object id of the first person mentioned (not the bot), as the mention carries it or as
 * the Bot Connector's member list gives it; null when there is none or it cannot be told.
 */
async function mentionedPerson(ctx: TeamsContext, turn: TurnContext): Promise<string | null> {
  const bot = turn.activity.recipient?.id;
  const mention = (turn.activity.entities ?? [])
    .filter((e): e is Mention & { type: string } => e.type === "mention")
    .find((m) => m.mentioned?.id && m.mentioned.id !== bot);
  if (!mention) return null;
  const carried = (mention.mentioned as { aadObjectId?: string }).aadObjectId;
  if (carried) return carried.trim().toLowerCase();
  try {
    const member: TeamsChannelAccount = await TeamsInfo.getMember(turn, mention.mentioned.id);
    return member.aadObjectId?.trim().toLowerCase() || null;
  } catch (error) {
    ctx.log.warn({ err: error, teamsUserId: mention.mentioned.id }, "could not tell who a mention names");
    return null;
  }
}
