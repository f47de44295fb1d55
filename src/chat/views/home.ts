import type { EligibleRoleView, RequestView, RoleAssignmentCounts } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Button, Rich } from "./card.js";
import { pendingBlocks } from "./pending-list.js";
import { roleAtScope, roleStatus } from "./request-parts.js";
import { roleRules } from "./roles-list.js";

export interface DashboardView {
  roles: RoleAssignmentCounts[];
  /** Null until an alerts module can count them. */
  openAlerts: number | null;
  /** Null until a reviews module can count them. */
  reviewsInProgress: number | null;
}

/** Everything the home tab shows one person; each platform draws it in its own way. */
export interface HomeModel {
  name: string;
  now: Date;
  /** A line about what just happened (an action taken from the home tab), or an error. */
  notice: string | null;
  eligible: EligibleRoleView[];
  /** My open requests and activations. */
  mine: RequestView[];
  /** Requests waiting for my decision. */
  queue: RequestView[];
  /** For PIM administrators only. */
  dashboard: DashboardView | null;
  askWho: string;
}

const ELIGIBLE_SHOWN = 12;
const DASHBOARD_ROLES = 10;

export function homeBlocks(m: HomeModel): Block[] {
  const blocks: Block[] = [
    {
      type: "text",
      text: [{ strong: `Hello ${m.name}` }, ". Nobody holds a privileged role at rest: ask when you need one."],
    },
  ];
  if (m.notice) blocks.push({ type: "context", lines: [[m.notice]] });
  blocks.push(
    {
      type: "buttons",
      buttons: [{ kind: "action", action: ACTIONS.activate, value: "", label: "Request access", style: "primary" }],
    },
    { type: "divider" },
  );
  blocks.push(...activeSection(m), { type: "divider" }, ...eligibleSection(m));
  blocks.push({ type: "divider" }, { type: "text", text: [{ strong: "Waiting for your decision" }] });
  blocks.push(...pendingBlocks(m.queue.slice(0, 5)));
  if (m.dashboard) blocks.push({ type: "divider" }, ...dashboardSection(m.dashboard));
  return blocks;
}

function activeSection(m: HomeModel): Block[] {
  const rows = m.mine.flatMap((v) => v.roles.filter((r) => !isClosed(r.status)).map((r) => ({ v, r })));
  const blocks: Block[] = [{ type: "text", text: [{ strong: "Your access now" }] }];
  if (rows.length === 0) return [...blocks, { type: "text", text: ["No active role and no pending request."] }];
  for (const { v, r } of rows.slice(0, 10)) {
    blocks.push({ type: "text", text: [...roleAtScope(r), " — ", ...roleStatus(r, m.now)] });
    const buttons: Button[] = [];
    if (r.status === "active" && r.allowEarlyDeactivation)
      buttons.push({
        kind: "action",
        action: ACTIONS.endNow,
        value: r.activationId,
        label: "End now",
        style: "danger",
      });
    if (r.status === "active")
      buttons.push({ kind: "action", action: ACTIONS.extend, value: r.activationId, label: "Extend" });
    if (r.status === "pending_approval" || r.status === "pending_mfa")
      buttons.push({ kind: "action", action: ACTIONS.cancel, value: v.requestId, label: "Cancel request" });
    if (buttons.length > 0) blocks.push({ type: "buttons", buttons });
  }
  return blocks;
}

function eligibleSection(m: HomeModel): Block[] {
  const blocks: Block[] = [{ type: "text", text: [{ strong: "You can activate" }] }];
  if (m.eligible.length === 0)
    return [...blocks, { type: "text", text: [`You are not eligible for any role. Ask ${m.askWho}.`] }];
  for (const role of m.eligible.slice(0, ELIGIBLE_SHOWN)) {
    const line: Rich = [{ strong: role.roleName }, ` at ${role.scopes.join(", ")}\n${roleRules(role)}`];
    blocks.push({ type: "text", text: line });
    if (!role.busy)
      blocks.push({
        type: "buttons",
        buttons: [{ kind: "action", action: ACTIONS.activate, value: role.roleId, label: `Activate ${role.roleName}` }],
      });
  }
  if (m.eligible.length > ELIGIBLE_SHOWN)
    blocks.push({ type: "context", lines: [[`…and ${m.eligible.length - ELIGIBLE_SHOWN} more in the request form.`]] });
  return blocks;
}

function dashboardSection(d: DashboardView): Block[] {
  const total = (
    k: keyof Pick<RoleAssignmentCounts, "eligible" | "permanentActive" | "timeBoundActive" | "activeNow">,
  ) => d.roles.reduce((n, r) => n + r[k], 0);
  const blocks: Block[] = [
    { type: "text", text: [{ strong: "Dashboard" }] },
    {
      type: "fields",
      fields: [
        { label: "Eligible assignments", value: [String(total("eligible"))] },
        { label: "Permanent active", value: [String(total("permanentActive"))] },
        { label: "Active now (activations)", value: [String(total("activeNow"))] },
        { label: "Time-bound active", value: [String(total("timeBoundActive"))] },
        { label: "Open alerts", value: [d.openAlerts === null ? "—" : String(d.openAlerts)] },
        { label: "Reviews in progress", value: [d.reviewsInProgress === null ? "—" : String(d.reviewsInProgress)] },
      ],
    },
  ];
  const lines: Rich[] = d.roles
    .slice(0, DASHBOARD_ROLES)
    .map((r) => [
      { strong: r.roleName },
      `: ${r.eligible} eligible · ${r.permanentActive} permanent · ${r.timeBoundActive} time-bound · ${r.activeNow} active now`,
    ]);
  if (lines.length > 0) blocks.push({ type: "text", text: lines.flatMap((l, i) => (i > 0 ? ["\n", ...l] : l)) });
  return blocks;
}

function isClosed(status: string): boolean {
  return ["ended", "denied", "canceled", "timed_out", "failed"].includes(status);
}
