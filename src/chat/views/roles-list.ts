import { formatDuration } from "../../domain/duration.js";
import type { EligibleRoleView } from "../../domain/request-view.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Card } from "./card.js";

const SHOWN = 15;

/** A role's rules in a few words: "up to 4h · approval by 1 · ticket like INC-123456". */
export function roleRules(role: Pick<EligibleRoleView, "policy">): string {
  const p = role.policy;
  const rules = [`up to ${formatDuration(p.maxDurationMs)}`];
  if (p.requireMfa) rules.push(`MFA (${p.mfaMethods.join(" or ")})`);
  if (p.requireApproval) rules.push(p.approvalsNeeded > 1 ? `${p.approvalsNeeded} approvals` : "approval");
  if (p.requireTicket) rules.push(p.ticketExample ? `ticket like ${p.ticketExample}` : "ticket");
  if (p.requireJustification) rules.push("justification");
  if (!p.allowEarlyDeactivation) rules.push("cannot be ended early");
  return rules.join(" · ");
}

/** `/elevate roles`: what I may activate and what each role asks of me. */
export function rolesListCard(roles: EligibleRoleView[], askWho: string): Card {
  if (roles.length === 0) return noEligibleRolesCard(askWho);
  const blocks: Block[] = [];
  for (const role of roles.slice(0, SHOWN)) {
    blocks.push({
      type: "text",
      text: [
        { strong: role.roleName },
        ` at ${role.scopes.join(", ")}`,
        ...(role.description ? [`\n${role.description}`] : []),
        `\n${roleRules(role)}`,
        ...(role.eligibleUntil ? ["\nEligible until ", { time: role.eligibleUntil }] : []),
        ...(role.busy ? ["\nYou already have it active or pending."] : []),
      ],
    });
    if (!role.busy)
      blocks.push({
        type: "buttons",
        buttons: [{ kind: "action", action: ACTIONS.activate, value: role.roleId, label: "Activate" }],
      });
  }
  if (roles.length > SHOWN)
    blocks.push({ type: "context", lines: [[`…and ${roles.length - SHOWN} more; the request form lists them all.`]] });
  return {
    header: `You are eligible for ${roles.length} ${roles.length === 1 ? "role" : "roles"}`,
    tone: "info",
    summary: roles.map((r) => r.roleName).join(", "),
    blocks,
  };
}

export function noEligibleRolesCard(askWho: string): Card {
  return {
    header: "No eligible roles",
    tone: "muted",
    summary: "You are not eligible for any privileged role.",
    blocks: [
      {
        type: "text",
        text: [`You are not eligible for any privileged role right now. To get one, ask ${askWho}.`],
      },
    ],
  };
}
