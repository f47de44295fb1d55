/**
 * The life of a person's assignments in chat: `assignments` lists them with Extend and Renew where
 * they apply; either button opens a form (a reason, and the day it should end); administrators
 * approve or deny from the request card. Whether anyone may do it is the use cases' call
 * (app/admin/lifecycle.ts), and every refusal is audited there.
 */

import { type AssignmentFormFacts, assignmentFormFacts, myAssignments } from "../../app/admin/assignment-views.js";
import {
  decideAssignmentRequest,
  requestAssignmentExtension,
  requestAssignmentRenewal,
} from "../../app/admin/lifecycle.js";
import { FIELDS } from "../views/action-ids.js";
import { assignmentListCard } from "../views/assignment-list.js";
import type { Card } from "../views/card.js";
import type { Acting, ClickInput, FlowContext, Principal } from "./interaction.js";

export type { AssignmentFormFacts };

export type LifecycleRequest = "extend" | "renew";

/** `assignments`: my assignments, with Extend or Renew on those I may ask for now. */
export async function assignmentsCommand(ctx: FlowContext, ix: Acting): Promise<void> {
  await ix.reply(await myAssignmentsCard(ctx, ix.me), "assignments");
}

export async function myAssignmentsCard(ctx: FlowContext, me: Principal): Promise<Card> {
  const now = ctx.deps.clock.now();
  return assignmentListCard(await myAssignments(ctx.deps.db, me.id, now), now);
}

/** What the extension or renewal form shows, or why it cannot be asked for. */
export function assignmentForm(
  ctx: FlowContext,
  me: Principal,
  assignmentId: string,
  request: LifecycleRequest,
): Promise<AssignmentFormFacts | string> {
  return assignmentFormFacts(ctx.deps.db, me.id, assignmentId, request, ctx.deps.clock.now());
}

/** The day the form offers: the proposed end's, as YYYY-MM-DD. */
export const dayOf = (time: Date): string => time.toISOString().slice(0, 10);

/**
 * The end a typed day stands for: that day at the proposed end's time of day, so the day the form
 * offers means exactly the proposed end. Null when it is not a real day written as YYYY-MM-DD.
 */
export function endOnDay(day: string, proposed: Date): Date | null {
  const text = day.trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const end = new Date(`${text}T${proposed.toISOString().slice(11)}`);
  return Number.isNaN(end.getTime()) || dayOf(end) !== text ? null : end;
}

/** Refusals about the end asked for are shown under the day; every other one under the reason. */
const END_REFUSALS = new Set(["ASSIGNMENT_TOO_LONG", "ASSIGNMENT_INVALID", "PERMANENT_NOT_ALLOWED"]);

export interface AssignmentForm {
  reason: string | null;
  /** The day typed or picked; empty or null: the proposed end. */
  endsOn: string | null;
}

/** The extension or renewal form submitted: a reason is required, the day is optional. */
export async function submitAssignmentForm(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  request: LifecycleRequest,
  assignmentId: string,
  form: AssignmentForm,
): Promise<{ ok: false; errors: Record<string, string> } | { ok: true; value: { roleName: string; endsAt: Date } }> {
  const ask = request === "extend" ? requestAssignmentExtension : requestAssignmentRenewal;
  const facts = await assignmentForm(ctx, ix.me, assignmentId, request);
  if (typeof facts === "string") {
    // Not (or no longer) mine to ask for: the use case says why and audits the attempt.
    const refused = await ask(ctx.deps, ix.me.id, assignmentId, form.reason ?? "", null);
    if (!refused.ok) return { ok: false, errors: { [FIELDS.reason]: refused.error.message } };
    return { ok: true, value: { roleName: "the assignment", endsAt: refused.value.endsAt ?? ctx.deps.clock.now() } };
  }
  const typed = form.endsOn?.trim() ?? "";
  const endsAt = typed === "" ? facts.proposedEnd : endOnDay(typed, facts.proposedEnd);
  const errors: Record<string, string> = {};
  if (!endsAt) errors[FIELDS.endsOn] = `Give the day as YYYY-MM-DD, for example ${dayOf(facts.proposedEnd)}.`;
  if (!form.reason?.trim()) errors[FIELDS.reason] = "Say why you need it; the administrators read it.";
  if (!endsAt || Object.keys(errors).length > 0) return { ok: false, errors };
  const asked = await ask(ctx.deps, ix.me.id, assignmentId, form.reason!, endsAt);
  if (!asked.ok)
    return {
      ok: false,
      errors: { [END_REFUSALS.has(asked.error.code) ? FIELDS.endsOn : FIELDS.reason]: asked.error.message },
    };
  return { ok: true, value: { roleName: facts.roleName, endsAt: asked.value.endsAt ?? endsAt } };
}

/** What the requester is told once the form is in. */
export function askedReceipt(request: LifecycleRequest, roleName: string, endsAt: Date): string {
  const what = request === "extend" ? "extend" : "renew";
  return `Asked to ${what} ${roleName} until ${dayOf(endsAt)}; the administrators decide, and you are told.`;
}

/** An administrator's Approve or Deny on an extension or renewal card (the comment next to the buttons is optional). */
export async function decideAssignment(
  ctx: FlowContext,
  ix: Acting,
  requestId: string,
  decision: "approve" | "deny",
  input: ClickInput,
): Promise<void> {
  const decided = await decideAssignmentRequest(
    ctx.deps,
    { kind: "person", id: ix.me.id },
    requestId,
    decision,
    input.comment,
  );
  if (!decided.ok) return ix.reply(decided.error.message);
  await ix.confirm(
    decision === "approve"
      ? `Approved: it now ends on ${decided.value.endsAt ? dayOf(decided.value.endsAt) : "—"}; the requester is told.`
      : "Denied; the requester is told.",
  );
}
