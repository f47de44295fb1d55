import { deactivate } from "../../app/activation/end.js";
import {
  findHolding,
  getRequestView,
  myActivations,
  pendingForApprover,
  type RequestView,
  requestableRoles,
} from "../../app/activation/views.js";
import { declaredReviews, startReviewFromChat } from "../../app/reviews/start.js";
import type { Card } from "../views/card.js";
import { helpCard } from "../views/help.js";
import { pendingListCard } from "../views/pending-list.js";
import { rolesListCard } from "../views/roles-list.js";
import { statusCard } from "../views/status.js";
import { adminCommand } from "./admin.js";
import { assignmentsCommand, myAssignmentsCard } from "./assignments.js";
import { approvalsCommand, auditCommand, historyCommand } from "./history.js";
import {
  type Acting,
  acting,
  type FlowContext,
  type Interaction,
  type ListView,
  type Principal,
} from "./interaction.js";
import { activeCommand, activeRolesOf, revokeCommand } from "./revoke.js";

type Subcommand = (ctx: FlowContext, ix: Acting, args: string) => Promise<void>;

/** `<command> <sub> <args>` as typed, the command word already taken off. */
export function splitCommand(text: string): { sub: string; args: string; typed: string } {
  const [first = "", ...rest] = text.trim().split(/\s+/);
  return { sub: first.toLowerCase(), args: rest.join(" "), typed: first };
}

/** The subcommands that only read or change the person's own things, so they may not be answered in a shared chat. */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  help: (ctx, ix) => ix.reply(helpCard(ctx.command), "help"),
  status: async (ctx, ix) => ix.reply(await statusOf(ctx, ix.me), "status"),
  roles: async (ctx, ix) => ix.reply(await rolesOf(ctx, ix.me), "roles"),
  pending: async (ctx, ix) => ix.reply(await pendingOf(ctx, ix.me), "pending"),
  end: async (ctx, ix, args) => {
    const holding = await activeHolding(ctx, ix, args, "end");
    if (!holding) return;
    const ended = await deactivate(ctx.deps, holding.id, ix.me.id);
    await ix.reply(ended.ok ? `Ending ${holding.roleName} now; it is being revoked.` : ended.error.message);
  },
  extend: async (ctx, ix, args) => {
    const holding = await activeHolding(ctx, ix, args, "extend");
    if (holding) await ix.openForm({ kind: "extend", activationId: holding.id });
  },
  mfa: async (ctx, ix, args) => {
    if (args.trim().toLowerCase() !== "setup")
      return ix.reply([`Use `, { code: `${ctx.command} mfa setup` }, ` to enroll an MFA method.`]);
    const url = await ctx.ports.startMfaEnrollment(ix.me.id).catch((error: { code?: string }) => {
      if (error?.code !== "NOT_AVAILABLE") throw error;
      return null;
    });
    if (!url)
      return ix.reply(
        `No set-up link can be given to you now: after too many wrong codes your MFA is locked for a while, and only a few links are given each hour. Try again later, or ask ${ctx.askWho} to reset it.`,
      );
    await ix.reply({
      header: "Set up MFA",
      tone: "info",
      summary: "Open the link to enroll an MFA method.",
      blocks: [
        { type: "text", text: ["Open this page to enroll; the link is yours alone and works once."] },
        { type: "buttons", buttons: [{ kind: "link", url, label: "Set up MFA", style: "primary" }] },
      ],
    });
  },
  review: async (ctx, ix, args) => {
    const started = await startReviewFromChat(ctx.deps, ix.me.id, args, await declaredReviews(ctx.deps.db));
    await ix.reply(
      started.ok
        ? `${started.value.campaign.settings.title} started: ${started.value.items} assignments to review; the reviewers are being asked now.`
        : started.error.message,
    );
  },
  active: (ctx, ix) => activeCommand(ctx, ix),
  revoke: (ctx, ix, args) => revokeCommand(ctx, ix, args),
  assignments: (ctx, ix) => assignmentsCommand(ctx, ix),
  history: (ctx, ix) => historyCommand(ctx, ix),
  approvals: (ctx, ix) => approvalsCommand(ctx, ix),
  audit: (ctx, ix, args) => auditCommand(ctx, ix, args),
  admin: (ctx, ix, args) => adminCommand(ctx, ix, args),
};

/**
 * Runs what a person typed after the command word. Nothing typed opens the request form; a role's
 * name or key opens it with that role picked; anything else gets the help. In a chat others read
 * (a Teams channel or group chat) only help is answered there.
 */
export async function runCommand(ctx: FlowContext, interaction: Interaction, text: string): Promise<void> {
  const { sub, args, typed } = splitCommand(text);
  if (sub === "help") return interaction.reply(helpCard(ctx.command), "help");
  if (!interaction.personal)
    return interaction.reply(
      helpCard(
        ctx.command,
        "I answer that only in a private chat, so nobody else sees your roles or links: write to me directly.",
      ),
      "help",
    );
  const ix = await acting(interaction, `${ctx.command} ${sub}`.trim());
  if (!ix) return;
  if (sub === "") return ix.openForm({ kind: "request", preselectRoleId: null });
  const subcommand = SUBCOMMANDS[sub];
  if (subcommand) return subcommand(ctx, ix, args);
  const named = `${sub} ${args}`.trim().toLowerCase();
  const role = (await requestableRoles(ctx.deps.db, ix.me, ctx.deps.clock.now())).find(
    (r) => r.roleKey.toLowerCase() === named || r.roleName.toLowerCase() === named,
  );
  if (role) return ix.openForm({ kind: "request", preselectRoleId: role.roleId });
  const shown = args ? named : typed;
  await ix.reply(helpCard(ctx.command, `I don't know "${shown.slice(0, 50)}". Here is what I can do:`), "help");
}

/** The one active role a subcommand is about; otherwise the person is told why not and shown their status. */
async function activeHolding(
  ctx: FlowContext,
  ix: Acting,
  args: string,
  verb: "end" | "extend",
): Promise<{ id: string; roleName: string } | undefined> {
  const holding = (await findHolding(ctx.deps.db, ix.me.id, args || null)).filter((a) => a.status === "active");
  if (holding.length === 0) {
    await ix.reply(args ? `You have no active role called "${args}".` : `You have no active role to ${verb}.`);
    return undefined;
  }
  if (holding.length > 1) {
    await ix.reply(await statusOf(ctx, ix.me), "status");
    return undefined;
  }
  const roles = await requestableRoles(ctx.deps.db, ix.me, ctx.deps.clock.now());
  const roleName = roles.find((r) => r.roleId === holding[0]!.roleId)?.roleName ?? "the role";
  return { id: holding[0]!.id, roleName };
}

/** My open requests, each as the requester sees it. */
export async function myRequests(ctx: FlowContext, me: Principal, now: Date): Promise<RequestView[]> {
  const open = await myActivations(ctx.deps.db, me.id);
  const ids = [...new Set(open.map((a) => a.requestId))];
  const views = await Promise.all(ids.map((id) => getRequestView(ctx.deps.db, id, now)));
  return views.filter((v): v is RequestView => v !== undefined);
}

/** The lists, drawn for one person now (also when Teams asks to refresh one). */
export async function listCard(ctx: FlowContext, me: Principal, view: ListView): Promise<Card> {
  switch (view) {
    case "status":
      return statusOf(ctx, me);
    case "roles":
      return rolesOf(ctx, me);
    case "pending":
      return pendingOf(ctx, me);
    case "help":
      return helpCard(ctx.command);
    case "active":
      return activeRolesOf(ctx, me);
    case "assignments":
      return myAssignmentsCard(ctx, me);
  }
}

async function statusOf(ctx: FlowContext, me: Principal): Promise<Card> {
  const now = ctx.deps.clock.now();
  return statusCard(await myRequests(ctx, me, now), now);
}

async function rolesOf(ctx: FlowContext, me: Principal): Promise<Card> {
  return rolesListCard(await requestableRoles(ctx.deps.db, me, ctx.deps.clock.now()), ctx.askWho);
}

async function pendingOf(ctx: FlowContext, me: Principal): Promise<Card> {
  return pendingListCard(await pendingForApprover(ctx.deps.db, me.id, ctx.deps.clock.now()));
}
