import type { TurnContext } from "botbuilder";
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
  await runCommand(ctx.flows, teamsInteraction(ctx, turn, me, "message"), `${sub} ${args}`);
}
