import type { App, RespondFn, SlashCommand } from "@slack/bolt";
import { deactivate } from "../../app/end-activation.js";
import { findHolding, getRequestView, myActivations, pendingForApprover, type RequestView } from "../../app/queries.js";
import { rolesByIds } from "../../db/repos/directory.js";
import type { Card } from "../views/card.js";
import { helpCard } from "../views/help.js";
import { pendingListCard } from "../views/pending-list.js";
import { requestableRoles } from "../views/request-form.js";
import { rolesListCard } from "../views/roles-list.js";
import { statusCard } from "../views/status.js";
import type { Principal, SlackContext } from "./context.js";
import { openExtendForm } from "./extend-flow.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { messageOf } from "./reply.js";
import { openRequestForm } from "./request-flow.js";
import { reviewSubcommand } from "./review-actions.js";

type Subcommand = (
  ctx: SlackContext,
  me: Principal,
  args: string,
  cmd: SlashCommand,
  respond: RespondFn,
) => Promise<void>;

const ephemeral = (content: Card | string) => ({ response_type: "ephemeral" as const, ...messageOf(content) });

/**
 * `/elevate` and its subcommands. Every path acks first (an empty ack, or the help text itself)
 * and then works, so Slack's 3-second limit is never at the mercy of the database.
 */
export function registerCommands(app: App, ctx: SlackContext): void {
  app.command(ctx.command, async ({ command, ack, respond, client }) => {
    const text = command.text.trim();
    const [first = "", ...rest] = text.split(/\s+/);
    const sub = first.toLowerCase();
    const args = rest.join(" ");
    if (sub === "") {
      await ack();
      return openRequestForm(ctx, client, command.trigger_id, command.user_id, null);
    }
    if (sub === "help") return ack(ephemeral(helpCard(ctx.command)));
    if (sub === "extend") {
      await ack();
      const me = await known(ctx, command.user_id, "extend", respond);
      if (me) await extend(ctx, me, args, command, respond, client);
      return;
    }
    const handler = SUBCOMMANDS[sub];
    if (!handler)
      return ack(ephemeral(helpCard(ctx.command, `I don't know "${first.slice(0, 50)}". Here is what I can do:`)));
    await ack();
    const me = await known(ctx, command.user_id, sub, respond);
    if (me) await handler(ctx, me, args, command, respond);
  });
}

async function known(ctx: SlackContext, slackUserId: string, attempted: string, respond: RespondFn) {
  const me = await ctx.identity.resolve(slackUserId);
  if (me) return me;
  await ctx.identity.recordUnknown(slackUserId, `/elevate ${attempted}`);
  await respond(ephemeral(UNKNOWN_USER_TEXT));
  return undefined;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  review: reviewSubcommand,
  status: async (ctx, me, _args, _cmd, respond) => {
    const now = ctx.deps.clock.now();
    await respond(ephemeral(statusCard(await myRequests(ctx, me, now), now)));
  },
  roles: async (ctx, me, _args, _cmd, respond) => {
    await respond(ephemeral(rolesListCard(await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now()), ctx.askWho)));
  },
  pending: async (ctx, me, _args, _cmd, respond) => {
    await respond(ephemeral(pendingListCard(await pendingForApprover(ctx.deps.db, me.id, ctx.deps.clock.now()))));
  },
  end: async (ctx, me, args, _cmd, respond) => {
    const holding = (await findHolding(ctx.deps.db, me.id, args || null)).filter((a) => a.status === "active");
    if (holding.length === 0) {
      await respond(ephemeral(args ? `You have no active role called "${args}".` : "You have no active role to end."));
      return;
    }
    if (holding.length > 1) {
      const now = ctx.deps.clock.now();
      await respond(ephemeral(statusCard(await myRequests(ctx, me, now), now)));
      return;
    }
    const ended = await deactivate(ctx.deps, holding[0]!.id, me.id);
    const role = (await rolesByIds(ctx.deps.db, [holding[0]!.roleId])).get(holding[0]!.roleId);
    await respond(
      ephemeral(ended.ok ? `Ending ${role?.name ?? "the role"} now; it is being revoked.` : ended.error.message),
    );
  },
  mfa: async (ctx, me, args, _cmd, respond) => {
    if (args.trim().toLowerCase() !== "setup") {
      await respond(ephemeral(`Use \`${ctx.command} mfa setup\` to enroll an MFA method.`));
      return;
    }
    if (!ctx.hooks.startMfaEnrollment) {
      await respond(ephemeral("MFA enrollment is not available."));
      return;
    }
    const url = await ctx.hooks.startMfaEnrollment(me.id);
    await respond(
      ephemeral({
        header: "Set up MFA",
        tone: "info",
        summary: "Open the link to enroll an MFA method.",
        blocks: [
          { type: "text", text: ["Open this page to enroll; the link is yours alone and works once."] },
          { type: "buttons", buttons: [{ kind: "link", url, label: "Set up MFA", style: "primary" }] },
        ],
      }),
    );
  },
};

async function extend(
  ctx: SlackContext,
  me: Principal,
  args: string,
  cmd: SlashCommand,
  respond: RespondFn,
  client: Parameters<typeof openExtendForm>[1],
) {
  const holding = (await findHolding(ctx.deps.db, me.id, args || null)).filter((a) => a.status === "active");
  if (holding.length !== 1) {
    const now = ctx.deps.clock.now();
    await respond(
      ephemeral(
        holding.length === 0
          ? args
            ? `You have no active role called "${args}".`
            : "You have no active role to extend."
          : statusCard(await myRequests(ctx, me, now), now),
      ),
    );
    return;
  }
  const refusal = await openExtendForm(ctx, client, cmd.trigger_id, me, holding[0]!.id);
  if (refusal) await respond(ephemeral(refusal));
}

async function myRequests(ctx: SlackContext, me: Principal, now: Date): Promise<RequestView[]> {
  const open = await myActivations(ctx.deps.db, me.id);
  const ids = [...new Set(open.map((a) => a.requestId))];
  const views = await Promise.all(ids.map((id) => getRequestView(ctx.deps.db, id, now)));
  return views.filter((v): v is RequestView => v !== undefined);
}
