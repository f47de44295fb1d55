import type { BlockAction, ButtonAction, webApi } from "@slack/bolt";
import type { Principal } from "../../db/repos/directory.js";
import type { SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { type Origin, tell } from "./reply.js";

export type ButtonClick = BlockAction<ButtonAction>;

/** Matches an action id and its numbered twins in the same block (`pim.end`, `pim.end:1`). */
export const button = (id: string) => ({
  type: "block_actions" as const,
  action_id: new RegExp(`^${id.replace(/\./g, "\\.")}(:\\d+)?$`),
});

/**
 * Who clicked, from Slack's verified user id; someone unknown to PIM is told so, and the attempt
 * is recorded, and nothing else happens.
 */
export function clickerOf(ctx: SlackContext) {
  return async (client: webApi.WebClient, origin: Origin, attempted: string): Promise<Principal | undefined> => {
    const me = await ctx.identity.resolve(origin.userId);
    if (me) return me;
    await ctx.identity.recordUnknown(origin.userId, attempted);
    await tell(ctx, client, origin, UNKNOWN_USER_TEXT);
    return undefined;
  };
}
