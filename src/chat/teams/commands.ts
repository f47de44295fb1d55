import type { TurnContext } from "botbuilder";
import { deactivate } from "../../app/end-activation.js";
import { eligibleRoles, findHolding, pendingForApprover } from "../../app/queries.js";
import { rolesByIds } from "../../db/repos/directory.js";
import { helpCard } from "../views/help.js";
import { pendingListCard } from "../views/pending-list.js";
import { rolesListCard } from "../views/roles-list.js";
import { statusCard } from "../views/status.js";
import type { Principal, TeamsContext } from "./context.js";
import { openExtendForm } from "./extend-flow.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { myRequests, replyCard, replyNote } from "./reply.js";
import { openRequestForm } from "./request-flow.js";
import { reviewSubcommand } from "./review-actions.js";

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

type Subcommand = (ctx: TeamsContext, turn: TurnContext, me: Principal, args: string) => Promise<void>;

/**
 * `elevate` and its subcommands, typed in a personal chat or picked from the command menu (which
 * sends the bare word: "status"). Anything else that names one of my roles opens the form for it.
 */
export async function onCommand(ctx: TeamsContext, turn: TurnContext, me: Principal | undefined): Promise<void> {
  const { sub, args } = parseCommand(turn.activity.text ?? "", ctx.command);
  if (sub === "help") return replyCard(turn, helpCard(ctx.command), "help");
  if (!me) {
    await ctx.identity.recordUnknown(turn, `${ctx.command} ${sub}`.trim());
    return replyNote(turn, UNKNOWN_USER_TEXT);
  }
  if (sub === "") return openRequestForm(ctx, turn, me, null);
  const handler = SUBCOMMANDS[sub];
  if (handler) return handler(ctx, turn, me, args);
  const named = `${sub} ${args}`.trim().toLowerCase();
  const role = (await eligibleRoles(ctx.deps.db, me.id, ctx.deps.clock.now())).find(
    (r) => r.roleKey === named || r.roleName.toLowerCase() === named,
  );
  if (role) return openRequestForm(ctx, turn, me, role.roleId);
  await replyCard(turn, helpCard(ctx.command, `I don't know "${named.slice(0, 50)}". Here is what I can do:`), "help");
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  review: reviewSubcommand,
  status: async (ctx, turn, me) => {
    const now = ctx.deps.clock.now();
    await replyCard(turn, statusCard(await myRequests(ctx, me, now), now), "status");
  },
  roles: async (ctx, turn, me) => {
    await replyCard(
      turn,
      rolesListCard(await eligibleRoles(ctx.deps.db, me.id, ctx.deps.clock.now()), ctx.askWho),
      "roles",
    );
  },
  pending: async (ctx, turn, me) => {
    await replyCard(
      turn,
      pendingListCard(await pendingForApprover(ctx.deps.db, me.id, ctx.deps.clock.now())),
      "pending",
    );
  },
  end: async (ctx, turn, me, args) => {
    const holding = (await findHolding(ctx.deps.db, me.id, args || null)).filter((a) => a.status === "active");
    if (holding.length === 0)
      return replyNote(turn, args ? `You have no active role called "${args}".` : "You have no active role to end.");
    if (holding.length > 1) return SUBCOMMANDS.status!(ctx, turn, me, "");
    const ended = await deactivate(ctx.deps, holding[0]!.id, me.id);
    const role = (await rolesByIds(ctx.deps.db, [holding[0]!.roleId])).get(holding[0]!.roleId);
    await replyNote(
      turn,
      ended.ok ? `Ending ${role?.name ?? "the role"} now; it is being revoked.` : ended.error.message,
    );
  },
  extend: async (ctx, turn, me, args) => {
    const holding = (await findHolding(ctx.deps.db, me.id, args || null)).filter((a) => a.status === "active");
    if (holding.length === 0)
      return replyNote(turn, args ? `You have no active role called "${args}".` : "You have no active role to extend.");
    if (holding.length > 1) return SUBCOMMANDS.status!(ctx, turn, me, "");
    const refusal = await openExtendForm(ctx, turn, me, holding[0]!.id);
    if (refusal) await replyNote(turn, refusal);
  },
  mfa: async (ctx, turn, me, args) => {
    if (args.trim().toLowerCase() !== "setup")
      return replyNote(turn, [`Use `, { code: `${ctx.command} mfa setup` }, ` to enroll an MFA method.`]);
    if (!ctx.hooks.startMfaEnrollment) return replyNote(turn, "MFA enrollment is not available.");
    const url = await ctx.hooks.startMfaEnrollment(me.id);
    await replyCard(
      turn,
      {
        header: "Set up MFA",
        tone: "info",
        summary: "Open the link to enroll an MFA method.",
        blocks: [
          { type: "text", text: ["Open this page to enroll; the link is yours alone and works once."] },
          { type: "buttons", buttons: [{ kind: "link", url, label: "Set up MFA", style: "primary" }] },
        ],
      },
      "note",
    );
  },
};
