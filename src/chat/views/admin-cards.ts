/**
 * What administrators are shown in chat about assignments: a role's members with a Remove button
 * on each assignment (and Revoke on a role held through an activation), what an assignment made
 * from chat came to, the step-up an active assignment waits for, and how the commands are typed.
 */
import { assignmentReference } from "../../domain/assignment-reference.js";
import type { AssignmentSubject } from "../../domain/assignment-view.js";
import { ACTIONS } from "./action-ids.js";
import type { Block, Button, Card, Rich } from "./card.js";

export interface MemberRow {
  assignmentId: string;
  principal: { name: string; kind: "user" | "group" };
  kind: "eligible" | "active";
  scope: string;
  startsAt: Date | null;
  endsAt: Date | null;
  source: string;
  inForce: boolean;
  activeNow: boolean;
  activationIds: string[];
}

/** Slack holds 50 blocks in a message; each member takes two. */
const SHOWN = 20;

const day = (at: Date) => at.toISOString().slice(0, 16).replace("T", " ").replace(" 00:00", "");

/** When an assignment ends, as a person reads it. */
export function endText(endsAt: Date | null): string {
  return endsAt ? `until ${day(endsAt)} UTC` : "permanent";
}

function memberLine(m: MemberRow, now: Date): Rich {
  const group = m.principal.kind === "group" ? " (group)" : "";
  const state = !m.inForce
    ? m.startsAt && m.startsAt > now
      ? `starts ${day(m.startsAt)} UTC`
      : "ended"
    : m.activeNow
      ? "active now"
      : "not active now";
  return [
    { strong: `${m.principal.name}${group}` },
    `: ${m.kind} at ${m.scope}, ${endText(m.endsAt)} — from ${m.source}, ${state} — ref `,
    { code: assignmentReference(m.assignmentId) },
  ];
}

/** `admin members <role>`: every assignment of the role; administrators get Remove (and Revoke where held now). */
export function membersCard(
  list: { role: { name: string }; members: MemberRow[]; canChange: boolean },
  now: Date,
  command: string,
): Card {
  const { members, role } = list;
  const header =
    members.length === 0 ? `Nobody is assigned to ${role.name}` : `${role.name}: ${members.length} assignments`;
  const blocks: Block[] = [];
  if (members.length === 0) blocks.push({ type: "text", text: ["No user or group is eligible or active for it."] });
  for (const m of members.slice(0, SHOWN)) {
    blocks.push({ type: "text", text: memberLine(m, now) });
    if (!list.canChange) continue;
    const buttons: Button[] = [
      { kind: "action", action: ACTIONS.assignmentRemove, value: m.assignmentId, label: "Remove", style: "danger" },
    ];
    // One Revoke per member: a group's members each hold their own activation; `active` lists them all.
    if (m.activationIds.length === 1)
      buttons.push({ kind: "action", action: ACTIONS.revoke, value: m.activationIds[0]!, label: "Revoke" });
    blocks.push({ type: "buttons", buttons });
  }
  if (members.length > SHOWN) blocks.push({ type: "context", lines: [[`…and ${members.length - SHOWN} more.`]] });
  if (list.canChange)
    blocks.push({
      type: "context",
      lines: [
        [{ code: `${command} admin end <ref> <until 2027-01-31|for 30d|permanent> <reason>` }, " changes an end; "],
        [{ code: `${command} admin remove <ref> <reason>` }, " removes one; what it backed ends with it."],
      ],
    });
  return { header, tone: members.length === 0 ? "muted" : "info", summary: header, blocks };
}

/** What an assignment made from chat came to. */
export function assignedCard(a: AssignmentSubject): Card {
  const start = a.startsAt ? `, from ${day(a.startsAt)} UTC` : "";
  const line = `${a.principalName} is ${a.kind} for ${a.roleName} at ${a.scope}${start}, ${endText(a.endsAt)}.`;
  return {
    header: "Assigned",
    tone: "success",
    summary: line,
    blocks: [
      { type: "text", text: [line] },
      { type: "context", lines: [["Reference ", { code: assignmentReference(a.assignmentId) }, ", audited."]] },
    ],
  };
}

/** An active assignment held until its administrator passes an MFA step-up: the link to do it, when there is one. */
export function assignmentStepUpCard(
  a: { principalName: string; roleName: string; scope: string },
  url: string | null,
  askWho: string,
): Card {
  const summary = `${a.principalName}'s active assignment for ${a.roleName} at ${a.scope} takes effect once you confirm with MFA.`;
  return {
    header: "Confirm with MFA to make it active",
    tone: "waiting",
    summary,
    blocks: [
      { type: "text", text: [summary, " Until then nothing is granted."] },
      url
        ? { type: "buttons", buttons: [{ kind: "link", url, label: "Confirm and assign", style: "primary" }] }
        : {
            type: "text",
            text: [
              `No step-up link could be made for you now (locked after failed attempts, or too many links this hour); ask ${askWho}.`,
            ],
          },
      { type: "context", lines: [["The link is yours alone, works once and expires soon."]] },
    ],
  };
}

/** How the administration commands are typed; `problem` says what was wrong with what was typed. */
export function adminUsage(command: string, problem?: string): Card {
  const line = (words: string, what: string): Rich => [{ code: `${command} admin${words}` }, ` — ${what}`];
  return {
    header: "Administering assignments",
    tone: problem ? "warning" : "info",
    summary: problem ?? `${command} admin opens the assignment form.`,
    blocks: [
      ...(problem ? [{ type: "text" as const, text: [problem] }] : []),
      {
        type: "text",
        text: [
          ...line("", "the assignment form"),
          "\n",
          ...line(
            " assign <person> <role> eligible|active [scope] [from <date>] [for 30d|until <date>|permanent] [justification]",
            "assign a user or group (a key, an e-mail or a mention)",
          ),
          "\n",
          ...line(" members <role>", "who is assigned, each with a reference and a Remove button"),
          "\n",
          ...line(" end <ref> <for 30d|until <date>|permanent> <reason>", "change when an assignment ends"),
          "\n",
          ...line(" remove <ref> <reason>", "remove an assignment; what it backed ends with it"),
        ],
      },
    ],
  };
}
