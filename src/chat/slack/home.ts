import type { App, webApi } from "@slack/bolt";
import {
  getRequestView,
  myActivations,
  pendingForApprover,
  type RequestView,
  requestableRoles,
} from "../../app/activation/views.js";
import { assignmentCounts } from "../../app/admin/dashboard.js";
import type { Principal } from "../../app/kernel/chat-identity.js";
import { type DashboardView, homeBlocks } from "../views/home.js";
import { LIMITS, renderBlocks } from "./blocks.js";
import type { SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";

/** The home tab: my roles, my requests, my approval queue, and for admins the dashboard. */
export function registerHome(app: App, ctx: SlackContext): void {
  app.event("app_home_opened", async ({ event, client }) => {
    if (event.tab !== "home") return;
    await publishHome(ctx, client, event.user, null);
  });
}

export async function publishHome(
  ctx: SlackContext,
  client: webApi.WebClient,
  slackUserId: string,
  notice: string | null,
): Promise<void> {
  const principal = await ctx.identity.resolve(slackUserId);
  const blocks = principal
    ? renderBlocks(homeBlocks(await homeModel(ctx, principal, notice)), LIMITS.viewBlocks)
    : renderBlocks([{ type: "text", text: [UNKNOWN_USER_TEXT] }], LIMITS.viewBlocks);
  if (!principal) await ctx.identity.recordUnknown(slackUserId, "app_home_opened");
  await client.views.publish({ user_id: slackUserId, view: { type: "home", blocks } });
}

async function homeModel(ctx: SlackContext, me: Principal, notice: string | null) {
  const { db, clock } = ctx.deps;
  const now = clock.now();
  const [eligible, open, queue] = await Promise.all([
    requestableRoles(db, me, now),
    myActivations(db, me.id),
    pendingForApprover(db, me.id, now, 5),
  ]);
  const requestIds = [...new Set(open.map((a) => a.requestId))].slice(0, 10);
  const mine = (await Promise.all(requestIds.map((id) => getRequestView(db, id, now)))).filter(
    (v): v is RequestView => v !== undefined,
  );
  return {
    name: me.name,
    now,
    notice,
    eligible,
    mine,
    queue,
    dashboard: me.admin ? await dashboard(ctx, now) : null,
    askWho: ctx.askWho,
  };
}

async function dashboard(ctx: SlackContext, now: Date): Promise<DashboardView> {
  const count = (read: () => Promise<number>) => read().catch(() => null);
  return {
    roles: await assignmentCounts(ctx.deps.db, now),
    openAlerts: await count(ctx.ports.countOpenAlerts),
    reviewsInProgress: await count(ctx.ports.countReviewsInProgress),
  };
}
