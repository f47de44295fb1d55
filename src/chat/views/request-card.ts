import type { ActivationStatus } from "../../domain/activation.js";
import type { RequestView, RoleInRequestView } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import { at, type Block, type Button, type Card, plainText, type Rich, type Tone } from "./card.js";
import {
  approverList,
  decisionsLine,
  deniedComment,
  justificationBlocks,
  orderedRoles,
  requestFields,
  roleNames,
  rolesBlock,
} from "./request-parts.js";

export interface RequestCardOptions {
  now: Date;
  /** The step-up link while the request waits for MFA; null when the MFA layer has none to give. */
  mfaUrl?: string | null;
}

const TITLES: Record<ActivationStatus, { title: string; tone: Tone }> = {
  requested: { title: "Request received", tone: "info" },
  pending_mfa: { title: "Complete MFA to continue", tone: "waiting" },
  pending_approval: { title: "Waiting for approval", tone: "waiting" },
  activating: { title: "Approved, being granted", tone: "info" },
  active: { title: "Active", tone: "success" },
  ending: { title: "Being revoked", tone: "muted" },
  ended: { title: "Ended", tone: "muted" },
  denied: { title: "Denied", tone: "danger" },
  canceled: { title: "Canceled", tone: "muted" },
  timed_out: { title: "Timed out", tone: "warning" },
  failed: { title: "Failed", tone: "danger" },
};

/** The requester's card: one message, redrawn in place as the request moves on. */
export function requestCard(view: RequestView, opts: RequestCardOptions): Card {
  const { title, tone } = isScheduled(view, opts.now) ? SCHEDULED : TITLES[view.status];
  const active = view.roles.filter((r) => r.status === "active" && r.endsAt);
  const firstEnd = active.map((r) => r.endsAt!).sort((a, b) => a.getTime() - b.getTime())[0];
  const header = `${title}${firstEnd ? ` until ${firstEnd.toISOString().slice(11, 16)} UTC` : ""}: ${roleNames(view)}`;
  const lead = leadLine(view, opts);
  const blocks: Block[] = [
    { type: "text", text: lead },
    rolesBlock(view, opts.now),
    requestFields(view),
    ...justificationBlocks(view),
  ];
  const comment = deniedComment(view);
  if (view.status === "denied" && comment) blocks.push({ type: "quote", label: "Comment", text: comment });
  const buttons = requesterButtons(view, opts);
  if (buttons.length > 0) blocks.push({ type: "buttons", buttons });
  blocks.push({ type: "context", lines: [[`Request ${view.requestId}`]] });
  return { header, tone, summary: `${header}. ${plainText(lead)}`, blocks };
}

const SCHEDULED = { title: "Approved, scheduled", tone: "info" as Tone };

/** Everything is in place and the grant waits for the start the requester asked for. */
function isScheduled(view: RequestView, now: Date): boolean {
  return view.status === "activating" && view.startsAt !== null && view.startsAt > now;
}

function leadLine(view: RequestView, opts: RequestCardOptions): Rich {
  if (isScheduled(view, opts.now))
    return ["Everything your request needs is in place; the role is granted at ", at(view.startsAt!), "."];
  switch (view.status) {
    case "requested":
    case "activating":
      return ["Everything your request needs is in place; the role is being granted now."];
    case "pending_mfa":
      return opts.mfaUrl
        ? ["Confirm it is you: complete MFA with the button below to continue."]
        : ["Complete MFA to continue. No step-up link could be made for this request; ask a PIM administrator."];
    case "pending_approval": {
      const waiting: Rich = ["Waiting for approval from ", ...approverList(view), "."];
      if (view.approvalDeadline) waiting.push(" It times out at ", at(view.approvalDeadline), ".");
      const decided = decisionsLine(view.decisions);
      return decided ? [...waiting, " ", ...decided] : waiting;
    }
    case "active": {
      return ["You have it now. It is revoked by itself when the time is up."];
    }
    case "ending":
      return ["The role is being revoked on the target."];
    case "ended":
      return ["The role is no longer yours; everything it did is in the audit log."];
    case "denied":
      return decisionsLine(view.decisions) ?? ["Your request was denied."];
    case "canceled":
      return ["You canceled this request."];
    case "timed_out":
      return [firstReason(view.roles) ?? "Nobody decided before the deadline.", " You can ask again."];
    case "failed":
      return [firstReason(view.roles) ?? "The grant failed.", " An administrator has been told."];
    default: {
      const never: never = view.status;
      return [String(never)];
    }
  }
}

function firstReason(roles: RoleInRequestView[]): string | undefined {
  const reason = roles.find((r) => r.reason)?.reason ?? undefined;
  return reason ? `${reason}.`.replace(/\.\.$/, ".") : undefined;
}

function requesterButtons(view: RequestView, opts: RequestCardOptions): Button[] {
  const buttons: Button[] = [];
  if (view.status === "pending_mfa" && opts.mfaUrl)
    buttons.push({ kind: "link", url: opts.mfaUrl, label: "Complete MFA", style: "primary" });
  if (view.status === "pending_mfa" || view.status === "pending_approval" || isScheduled(view, opts.now))
    buttons.push({ kind: "action", action: ACTIONS.cancel, value: view.requestId, label: "Cancel request" });
  const active = orderedRoles(view).filter((r) => r.status === "active");
  for (const r of active) {
    const suffix = active.length > 1 ? ` ${r.roleName}` : "";
    if (r.allowEarlyDeactivation)
      buttons.push({
        kind: "action",
        action: ACTIONS.endNow,
        value: r.activationId,
        label: `End now${suffix}`,
        style: "danger",
      });
    buttons.push({ kind: "action", action: ACTIONS.extend, value: r.activationId, label: `Extend${suffix}` });
  }
  return buttons.slice(0, 25);
}
