/**
 * Teams' forms are Adaptive Cards posted in the chat; a submission arrives as a Universal Action
 * and is answered with the card that replaces the form: a receipt, or the form again with each
 * error under its field and everything typed kept.
 */
import type { TurnContext } from "botbuilder";
import { assignForm, removeAssignmentForm, submitAssign, submitRemoveAssignment } from "../flows/admin.js";
import {
  type AssignmentForm,
  type AssignmentFormFacts,
  askedReceipt,
  assignmentForm,
  dayOf,
  endOnDay,
  type LifecycleRequest,
  submitAssignmentForm,
} from "../flows/assignments.js";
import { extendForm, requestForm, submitExtend, submitRequest, submitReviewRemove } from "../flows/forms.js";
import type { FormRequest, Principal } from "../flows/interaction.js";
import { type RevokeForm, revokeForm, submitRevoke } from "../flows/revoke.js";
import { FIELDS, FORMS } from "../views/action-ids.js";
import { noEligibleRolesCard } from "../views/roles-list.js";
import { assignFormCard, readAssignSubmission, removeAssignmentFormCard } from "./admin-form.js";
import { adaptiveCard, type Json, renderCard, richBlocks, textBlock } from "./cards.js";
import type { TeamsContext } from "./context.js";
import { extendFormCard, readExtendSubmission, readRequestSubmission, requestFormCard, submittedCard } from "./form.js";
import { noteCard, replyCard, replyJson, replyNote } from "./reply.js";

type Notice = { text: string; tone: "good" | "attention" | "default" };

/** Posts the form a flow asked for; returns what to write on the clicked card, if anything. */
export async function postForm(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  form: FormRequest,
): Promise<Notice> {
  switch (form.kind) {
    case "request": {
      const model = await requestForm(ctx.flows, me, form.preselectRoleId ? [form.preselectRoleId] : []);
      if (model.roles.length === 0 && model.busy.length === 0) {
        await replyCard(turn, noEligibleRolesCard(ctx.askWho), "note");
        return { text: "You have no role to request.", tone: "attention" };
      }
      if (model.roles.length === 0) {
        const text = `Everything you can request is already active or pending: ${model.busy.join(", ")}. Use "${ctx.command} extend" for more time.`;
        await replyNote(turn, text);
        return { text, tone: "attention" };
      }
      await replyJson(turn, requestFormCard(model), "Request access");
      return { text: "The request form is the next message.", tone: "good" };
    }
    case "extend": {
      const found = await extendForm(ctx.flows, me, form.activationId);
      if (typeof found === "string") {
        await replyNote(turn, found);
        return { text: found, tone: "attention" };
      }
      const card = extendFormCard(found.activationId, found.roleName, found.choices, {
        durationMs: null,
        justification: found.justification,
      });
      await replyJson(turn, card, `Extend ${found.roleName}`);
      return { text: "The extension form is the next message.", tone: "good" };
    }
    case "deny":
      // The comment box is on the card itself, next to the buttons.
      return { text: "Say why you deny it in the comment box; the requester reads it.", tone: "attention" };
    case "review-remove":
      await replyJson(turn, removeFormCard(form.itemId), "Remove this access?");
      return { text: "Give a reason (optional) in the form below.", tone: "default" };
    case "revoke": {
      const found = await revokeForm(ctx.flows, form.activationId);
      if (typeof found === "string") {
        await replyNote(turn, found);
        return { text: found, tone: "attention" };
      }
      await replyJson(turn, revokeFormCard(found), `Revoke ${found.roleName}?`);
      return { text: "Give the reason in the form below; the holder reads it.", tone: "default" };
    }
    case "assign": {
      const model = await assignForm(ctx.flows, me);
      if (typeof model === "string") {
        await replyNote(turn, model);
        return { text: model, tone: "attention" };
      }
      await replyJson(turn, assignFormCard(model), "Assign a role");
      return { text: "The assignment form is the next message.", tone: "good" };
    }
    case "assignment-extend":
    case "assignment-renew": {
      const request: LifecycleRequest = form.kind === "assignment-extend" ? "extend" : "renew";
      const found = await assignmentForm(ctx.flows, me, form.assignmentId, request);
      if (typeof found === "string") {
        await replyNote(turn, found);
        return { text: found, tone: "attention" };
      }
      await replyJson(
        turn,
        assignmentFormCard(found),
        `${request === "extend" ? "Extend" : "Renew"} ${found.roleName}`,
      );
      return { text: "Give your reason in the form below; the administrators decide.", tone: "default" };
    }
    case "assignment-remove": {
      const found = await removeAssignmentForm(ctx.flows, form.assignmentId);
      if (typeof found === "string") {
        await replyNote(turn, found);
        return { text: found, tone: "attention" };
      }
      await replyJson(turn, removeAssignmentFormCard(found), "Remove this assignment?");
      return { text: "Give the reason in the form below; the audit log keeps it.", tone: "default" };
    }
  }
}

/** A submitted form, by its verb: the card that takes the form's place. */
export async function submitForm(
  ctx: TeamsContext,
  me: Principal,
  verb: string,
  value: string,
  data: Json,
): Promise<Json | null> {
  const ix = { me, platform: "teams" as const };
  switch (verb) {
    case FORMS.request: {
      const submission = readRequestSubmission(data);
      const submitted = await submitRequest(ctx.flows, ix, submission);
      if (submitted.ok) {
        const { roleNames, durationMs } = submitted.value;
        return renderCard(submittedCard("Request sent", roleNames, durationMs), { view: "note" });
      }
      const model = await requestForm(ctx.flows, me, submission.roleIds);
      return requestFormCard(model, submission, submitted.errors);
    }
    case FORMS.extend: {
      const form = readExtendSubmission(data);
      const found = await extendForm(ctx.flows, me, value);
      if (typeof found === "string") return noteCard(found);
      const submitted = await submitExtend(ctx.flows, ix, value, form);
      if (submitted.ok)
        return renderCard(submittedCard("Extension requested", [found.roleName], form.durationMs!), { view: "note" });
      return extendFormCard(found.activationId, found.roleName, found.choices, form, submitted.errors);
    }
    case FORMS.reviewRemove: {
      const raw = data[FIELDS.reason];
      const submitted = await submitReviewRemove(ctx.flows, ix, value, typeof raw === "string" ? raw : null);
      return noteCard(
        submitted.ok
          ? "Removal recorded; it takes effect when the review ends."
          : (submitted.errors[FIELDS.reason] ?? "Not recorded."),
      );
    }
    case FORMS.revoke: {
      const raw = data[FIELDS.reason];
      const reason = typeof raw === "string" ? raw : null;
      const submitted = await submitRevoke(ctx.flows, ix, value, reason);
      if (submitted.ok) return noteCard("Revoking it now; the holder is told who revoked it and why.");
      const found = await revokeForm(ctx.flows, value);
      if (typeof found === "string") return noteCard(submitted.errors[FIELDS.reason] ?? found);
      return revokeFormCard(found, reason, submitted.errors[FIELDS.reason] ?? null);
    }
    case FORMS.assignmentExtend:
    case FORMS.assignmentRenew: {
      const request: LifecycleRequest = verb === FORMS.assignmentExtend ? "extend" : "renew";
      const text = (id: string) => (typeof data[id] === "string" ? (data[id] as string) : null);
      const typed: AssignmentForm = { reason: text(FIELDS.reason), endsOn: text(FIELDS.endsOn) };
      const submitted = await submitAssignmentForm(ctx.flows, ix, request, value, typed);
      if (submitted.ok) return noteCard(askedReceipt(request, submitted.value.roleName, submitted.value.endsAt));
      const found = await assignmentForm(ctx.flows, me, value, request);
      if (typeof found === "string") return noteCard(submitted.errors[FIELDS.reason] ?? found);
      return assignmentFormCard(found, typed, submitted.errors);
    }
    case FORMS.assign: {
      const values = readAssignSubmission(data);
      // Someone who may not assign is refused (and audited) once, with the form taken away.
      const model = await assignForm(ctx.flows, me, values);
      if (typeof model === "string") return noteCard(model);
      const submitted = await submitAssign(ctx.flows, ix, values);
      if (submitted.ok) return renderCard(submitted.value, { view: "note" });
      return assignFormCard(model, submitted.errors);
    }
    case FORMS.assignmentRemove: {
      const raw = data[FIELDS.reason];
      const reason = typeof raw === "string" ? raw : null;
      const submitted = await submitRemoveAssignment(ctx.flows, ix, value, reason);
      if (submitted.ok) return noteCard(submitted.value);
      const found = await removeAssignmentForm(ctx.flows, value);
      if (typeof found === "string") return noteCard(submitted.errors[FIELDS.reason] ?? found);
      return removeAssignmentFormCard(found, reason, submitted.errors[FIELDS.reason] ?? null);
    }
    default:
      return null;
  }
}

/** The form a Remove click posts: an optional reason and the button that records the removal. */
function removeFormCard(itemId: string): Json {
  return adaptiveCard(
    [
      ...richBlocks([{ strong: "Remove this access?" }]),
      textBlock("It is removed when the review ends (and revoked if it is held now)."),
      { type: "Input.Text", id: FIELDS.reason, label: "Why? (optional)", isMultiline: true, maxLength: 1_000 },
      {
        type: "ActionSet",
        actions: [
          {
            type: "Action.Execute",
            title: "Remove",
            verb: FORMS.reviewRemove,
            data: { value: itemId, view: "form" },
            style: "destructive",
          },
        ],
      },
    ],
    { fallbackText: "Remove this access?" },
  );
}

/** The form a Revoke click posts: the reason (required) and the button that revokes. */
function revokeFormCard(form: RevokeForm, reason: string | null = null, error: string | null = null): Json {
  return adaptiveCard(
    [
      ...richBlocks([{ strong: `Revoke ${form.roleName}?` }]),
      textBlock(`Take ${form.roleName} at ${form.scope} away from ${form.holderName} now.`),
      {
        type: "Input.Text",
        id: FIELDS.reason,
        label: "Why are you revoking it?",
        isMultiline: true,
        isRequired: true,
        errorMessage: "Say why you revoke it; the holder reads it.",
        maxLength: 1_000,
        ...(reason ? { value: reason.slice(0, 1_000) } : {}),
      },
      ...(error ? richBlocks([error], { spacing: "small" }, { color: "attention", size: "small" }) : []),
      {
        type: "ActionSet",
        actions: [
          {
            type: "Action.Execute",
            title: "Revoke",
            verb: FORMS.revoke,
            data: { value: form.activationId, view: "form" },
            style: "destructive",
          },
        ],
      },
    ],
    { fallbackText: `Revoke ${form.roleName}?` },
  );
}

/** An assignment's extension or renewal form: the day it should end (the proposed one filled in) and the reason. */
function assignmentFormCard(
  form: AssignmentFormFacts,
  typed: AssignmentForm = { reason: null, endsOn: null },
  errors: Record<string, string> = {},
): Json {
  const renew = form.request === "renew";
  const title = `${renew ? "Renew" : "Extend"} ${form.roleName}`;
  const said = renew
    ? `Your ${form.kind} assignment for ${form.roleName} at ${form.scope} ended on ${dayOf(form.endsAt)}. Ask to have it back until:`
    : `Your ${form.kind} assignment for ${form.roleName} at ${form.scope} ends on ${dayOf(form.endsAt)}. Ask for it to last until:`;
  const error = (id: string) =>
    errors[id] ? richBlocks([errors[id]!], { spacing: "small" }, { color: "attention", size: "small" }) : [];
  return adaptiveCard(
    [
      ...richBlocks([{ strong: title }]),
      textBlock(said),
      {
        type: "Input.Date",
        id: FIELDS.endsOn,
        label: "New end",
        // A day Teams' date picker cannot show is replaced by the proposed one; the error under it says why.
        value: endOnDay(typed.endsOn ?? "", form.proposedEnd) ? typed.endsOn!.trim() : dayOf(form.proposedEnd),
      },
      ...error(FIELDS.endsOn),
      {
        type: "Input.Text",
        id: FIELDS.reason,
        label: "Why do you need it?",
        isMultiline: true,
        isRequired: true,
        errorMessage: "Say why you need it; the administrators read it.",
        maxLength: 500,
        ...(typed.reason ? { value: typed.reason.slice(0, 500) } : {}),
      },
      ...error(FIELDS.reason),
      {
        type: "ActionSet",
        actions: [
          {
            type: "Action.Execute",
            title: renew ? "Ask to renew" : "Ask to extend",
            verb: renew ? FORMS.assignmentRenew : FORMS.assignmentExtend,
            data: { value: form.assignmentId, view: "form" },
            style: "positive",
          },
        ],
      },
    ],
    { fallbackText: title },
  );
}
