/**
 * Administrators change assignments from chat: `admin` (or `admin assign`) opens the assignment
 * form, `admin assign …` assigns as typed, `admin members <role>` lists a role's assignments with a
 * Remove button on each, `admin end` and `admin remove` change or remove one by its reference.
 * Whether the person may is always the use case's call, and every refusal is audited there; an
 * active assignment on a role that says so waits for the administrator's MFA step-up.
 */
import { type AssignOutcome, assignRole, changeAssignmentEnd, removeAssignment } from "../../app/admin/assignments.js";
import {
  type AssignmentSubject,
  assignmentFormChoices,
  assignmentIdOf,
  assignmentSubject,
  pendingAssignmentSubject,
  principalKeyOf,
} from "../../app/admin/chat-references.js";
import { roleMembers } from "../../app/admin/members.js";
import type { PersonReference } from "../../app/admin/revocable.js";
import type { AssignmentKind } from "../../domain/assignment-rules.js";
import { FIELDS } from "../views/action-ids.js";
import { adminUsage, assignedCard, assignmentStepUpCard, endText, membersCard } from "../views/admin-cards.js";
import {
  type AssignFormModel,
  type AssignFormValues,
  assignFieldFor,
  buildAssignForm,
  parseEnd,
  parseStart,
  targetOf,
} from "../views/admin-form.js";
import type { Card } from "../views/card.js";
import type { FieldErrors, Submitted } from "./forms.js";
import type { Acting, FlowContext, Principal } from "./interaction.js";
import { splitPerson } from "./revoke.js";

const asActor = (me: Principal) => ({ kind: "person" as const, id: me.id });

type AdminSubcommand = (ctx: FlowContext, ix: Acting, args: string) => Promise<void>;

/** What may follow `admin`; each is also a row of the parity table. */
export const ADMIN_SUBCOMMANDS: Record<string, AdminSubcommand> = {
  assign: (ctx, ix, args) => (args.trim() ? assignTyped(ctx, ix, args) : ix.openForm({ kind: "assign" })),
  members: (ctx, ix, args) => membersCommand(ctx, ix, args),
  end: (ctx, ix, args) => endCommand(ctx, ix, args),
  remove: (ctx, ix, args) => removeCommand(ctx, ix, args),
};

/** `admin [assign|members|end|remove] …`; nothing after it opens the form. */
export async function adminCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const [first = "", ...rest] = args.trim().split(/\s+/);
  if (first === "") return ix.openForm({ kind: "assign" });
  const sub = ADMIN_SUBCOMMANDS[first.toLowerCase()];
  if (sub) return sub(ctx, ix, rest.join(" "));
  await ix.reply(adminUsage(ctx.command, `I don't know "admin ${first.slice(0, 40)}".`));
}

// ── the typed commands ────────────────────────────────────────────────────────────────────────

interface TypedAssignment {
  person: PersonReference;
  role: string;
  kind: AssignmentKind;
  scope: string | null;
  start: string | null;
  end: string | null;
  justification: string | null;
}

/**
 * `assign <person> <role> eligible|active [scope] [from <start>] [for <duration>|until <date>|permanent] [justification…]`.
 * The role is everything between the person and the kind, so a role's name may have spaces.
 */
export function parseAssign(args: string): TypedAssignment | string {
  const person = splitPerson(args);
  if (!person) return "Name who to assign: a pim.yaml key, an e-mail address or a mention.";
  const words = person.rest.split(/\s+/).filter(Boolean);
  const at = words.findIndex((w) => w.toLowerCase() === "eligible" || w.toLowerCase() === "active");
  if (at < 0) return "Say eligible or active after the role.";
  if (at === 0) return "Name the role before eligible or active.";
  const role = words.slice(0, at).join(" ");
  const kind = words[at]!.toLowerCase() as AssignmentKind;
  let rest = words.slice(at + 1);
  const scope = rest[0]?.startsWith("/") ? rest.shift()! : null;
  let start: string | null = null;
  if (rest[0]?.toLowerCase() === "from") {
    if (!rest[1]) return "Say when it starts after from: a date such as 2027-01-01.";
    start = rest[1];
    rest = rest.slice(2);
  }
  let end: string | null = null;
  const lead = rest[0]?.toLowerCase();
  if (lead === "for" || lead === "until") {
    if (!rest[1]) return lead === "for" ? "Say how long after for: 30d, 12h or 2w." : "Say the date after until.";
    end = `${lead} ${rest[1]}`;
    rest = rest.slice(2);
  } else if (lead === "permanent" || lead === "permanently") {
    end = "permanent";
    rest = rest.slice(1);
  }
  return { person: person.person, role, kind, scope, start, end, justification: rest.join(" ") || null };
}

async function assignTyped(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const typed = parseAssign(args);
  if (typeof typed === "string") return ix.reply(adminUsage(ctx.command, typed));
  const now = ctx.deps.clock.now();
  const start = parseStart(typed.start);
  if (!start.ok) return ix.reply(adminUsage(ctx.command, start.error));
  const end = parseEnd(typed.end, start.value ?? now);
  if (!end.ok) return ix.reply(adminUsage(ctx.command, end.error));
  const done = await assignRole(ctx.deps, asActor(ix.me), {
    principal: await principalKeyOf(ctx.deps, ix.platform, typed.person),
    role: typed.role,
    scope: typed.scope,
    kind: typed.kind,
    startsAt: start.value,
    endsAt: end.value,
    justification: typed.justification,
  });
  await ix.reply(done.ok ? await outcomeCard(ctx, ix.me, done.value) : done.error.message);
}

async function membersCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  if (!args.trim()) return ix.reply(adminUsage(ctx.command, "Name the role whose members you want to see."));
  const listed = await roleMembers(ctx.deps, asActor(ix.me), args);
  if (!listed.ok) return ix.reply(listed.error.message);
  await ix.reply(membersCard(listed.value, ctx.deps.clock.now(), ctx.command));
}

/** `end <ref> <for 30d|until <date>|permanent> <reason>`; `for` counts from now. */
async function endCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const [ref = "", first = "", ...rest] = args.trim().split(/\s+/);
  const lead = first.toLowerCase();
  const timed = lead === "for" || lead === "until";
  const when = timed ? `${lead} ${rest[0] ?? ""}` : lead;
  const reason = (timed ? rest.slice(1) : rest).join(" ");
  if (!ref || !(timed || lead === "permanent"))
    return ix.reply(
      adminUsage(ctx.command, "Give the assignment's reference, then for 30d, until a date, or permanent."),
    );
  const end = parseEnd(when, ctx.deps.clock.now());
  if (!end.ok) return ix.reply(adminUsage(ctx.command, end.error));
  if (!reason) return ix.reply(adminUsage(ctx.command, "Say why you change it, after the new end."));
  const id = await assignmentIdOf(ctx.deps, ref);
  const done = await changeAssignmentEnd(ctx.deps, asActor(ix.me), id, end.value, reason);
  if (!done.ok) return ix.reply(done.error.message);
  const a = await assignmentSubject(ctx.deps, done.value.id);
  await ix.reply(
    a
      ? `${a.principalName}'s ${a.kind} assignment for ${a.roleName} at ${a.scope} is now ${endText(a.endsAt)}.`
      : "Changed.",
  );
}

/** `remove <ref> <reason>`. */
async function removeCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const [ref = "", ...rest] = args.trim().split(/\s+/);
  if (!ref) return ix.reply(adminUsage(ctx.command, "Give the assignment's reference (see admin members <role>)."));
  if (rest.length === 0) return ix.reply(adminUsage(ctx.command, "Say why you remove it, after the reference."));
  const id = await assignmentIdOf(ctx.deps, ref);
  const before = await assignmentSubject(ctx.deps, id);
  const done = await removeAssignment(ctx.deps, asActor(ix.me), id, rest.join(" "));
  await ix.reply(done.ok ? removedLine(before) : done.error.message);
}

const removedLine = (a: AssignmentSubject | undefined) =>
  a
    ? `Removed ${a.principalName}'s ${a.kind} assignment for ${a.roleName} at ${a.scope}; what it backed is being ended.`
    : "Removed; what it backed is being ended.";

/** What an assignment came to: in force, or waiting for the administrator's step-up (with its link). */
async function outcomeCard(ctx: FlowContext, me: Principal, outcome: AssignOutcome): Promise<Card> {
  if (outcome.status === "assigned") {
    const a = await assignmentSubject(ctx.deps, outcome.assignment.id);
    const v = outcome.assignment;
    return assignedCard(
      a ?? {
        assignmentId: v.id,
        principalName: v.principalKey,
        roleName: v.roleKey,
        scope: v.scope,
        kind: v.kind,
        startsAt: v.startsAt,
        endsAt: v.endsAt,
      },
    );
  }
  const subject = (await pendingAssignmentSubject(ctx.deps, outcome.pendingId)) ?? {
    principalName: "The assignment",
    roleName: "the role",
    scope: "its scope",
  };
  const url = await ctx.ports.assignmentStepUpLinkFor(outcome.pendingId, me.id).catch((error: unknown) => {
    ctx.log.warn({ err: error, pendingId: outcome.pendingId }, "no step-up link for the administrator");
    return null;
  });
  return assignmentStepUpCard(subject, url, ctx.askWho);
}

// ── the forms ─────────────────────────────────────────────────────────────────────────────────

/** The assignment form for an administrator, or why they may not use it (audited by the use case). */
export async function assignForm(
  ctx: FlowContext,
  me: Principal,
  values?: AssignFormValues,
): Promise<AssignFormModel | string> {
  const choices = await assignmentFormChoices(ctx.deps, asActor(me));
  if (!choices.ok) return choices.error.message;
  return buildAssignForm(choices.value, values);
}

/**
 * The assignment form submitted: what was typed is checked first, then `assignRole` decides; a
 * refusal comes back under the field it is about. Done, the card says what it came to (with the
 * step-up link when the assignment waits for one).
 */
export async function submitAssign(
  ctx: FlowContext,
  ix: Pick<Acting, "me" | "platform">,
  values: AssignFormValues,
): Promise<Submitted<Card>> {
  const model = await assignForm(ctx, ix.me, values);
  if (typeof model === "string") return { ok: false, errors: { [FIELDS.principal]: model } };
  const errors: FieldErrors = {};
  const who = splitPerson(values.principal ?? "");
  if (!who) errors[FIELDS.principal] = "Name who to assign: a pim.yaml key or an e-mail address.";
  else if (who.rest) errors[FIELDS.principal] = "Name one user or group.";
  const target = targetOf(model, values.target);
  if (!target) errors[FIELDS.target] = "Pick the role and scope.";
  const start = parseStart(values.start);
  if (!start.ok) errors[FIELDS.start] = start.error;
  const end = parseEnd(values.end, (start.ok && start.value) || ctx.deps.clock.now());
  if (!end.ok) errors[FIELDS.end] = end.error;
  if (Object.keys(errors).length > 0 || !who || !target || !start.ok || !end.ok) return { ok: false, errors };
  const done = await assignRole(ctx.deps, asActor(ix.me), {
    principal: await principalKeyOf(ctx.deps, ix.platform, who.person),
    role: target.roleKey,
    scope: target.scope,
    kind: values.kind,
    startsAt: start.value,
    endsAt: end.value,
    justification: values.justification,
  });
  if (!done.ok) return { ok: false, errors: { [assignFieldFor(done.error.code)]: done.error.message } };
  return { ok: true, value: await outcomeCard(ctx, ix.me, done.value) };
}

/** What the remove form names, or why there is nothing to remove. */
export async function removeAssignmentForm(
  ctx: FlowContext,
  assignmentId: string,
): Promise<AssignmentSubject | string> {
  return (await assignmentSubject(ctx.deps, assignmentId)) ?? "This assignment does not exist any more.";
}

/** The remove form submitted: the reason is required and kept in the audit log. */
export async function submitRemoveAssignment(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  assignmentId: string,
  reason: string | null,
): Promise<Submitted<string>> {
  if (!reason?.trim())
    return { ok: false, errors: { [FIELDS.reason]: "Say why you remove it; the audit log keeps it." } };
  const before = await assignmentSubject(ctx.deps, assignmentId);
  const done = await removeAssignment(ctx.deps, asActor(ix.me), assignmentId, reason);
  if (!done.ok) return { ok: false, errors: { [FIELDS.reason]: done.error.message } };
  return { ok: true, value: removedLine(before) };
}
