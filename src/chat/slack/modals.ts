/**
 * The modals: the request form (with its ticket field appearing as roles are picked), the deny
 * comment, the extension, and a plain message modal for "loading…" and refusals.
 */

import type { types, ViewStateValue } from "@slack/bolt";
import { START_EXAMPLES } from "../../domain/start-time.js";
import { FIELDS, FORMS, type RequestFormField, scopeField } from "../views/action-ids.js";
import type { Card } from "../views/card.js";
import {
  type DurationChoice,
  type RequestFormModel,
  type RequestSubmission,
  ROLES_PICKER_LABEL,
  ROLES_PICKER_PLACEHOLDER,
} from "../views/request-form.js";
import { headerBlock, LIMITS, plain, renderBlocks } from "./blocks.js";

type ModalView = types.ModalView;
type KnownBlock = types.KnownBlock;
type Option = types.PlainTextOption;

const option = (text: string, value: string): Option => ({
  text: plain(text, LIMITS.optionText),
  value: value.slice(0, LIMITS.optionValue),
});

const durationOption = (c: DurationChoice) => option(c.label, String(c.ms));

/** The duration block's id carries the allowed maximum: a changed list of choices is a new field to Slack, so its default is applied. */
const durationBlockId = (model: RequestFormModel) => `${FIELDS.duration}:${model.durations.at(-1)!.ms / 60_000}`;

/** Any modal that only says something: a first "loading" view, or why the form cannot be used. */
export function messageModal(title: string, card: Card | string, callbackId: string = FORMS.request): ModalView {
  const blocks: KnownBlock[] =
    typeof card === "string"
      ? [{ type: "section", text: { type: "mrkdwn", text: card } }]
      : [headerBlock(card), ...renderBlocks(card.blocks, LIMITS.viewBlocks - 1)];
  return {
    type: "modal",
    callback_id: callbackId,
    title: plain(title, LIMITS.viewTitle),
    close: plain("Close", LIMITS.viewButton),
    blocks,
  };
}

export const loadingModal = (title = "Request access") => messageModal(title, ":hourglass_flowing_sand: Loading…");

export function requestModal(model: RequestFormModel): ModalView {
  const selected = model.selected.map((r) => option(r.roleName, r.roleId));
  const rolesElement: types.MultiStaticSelect | types.MultiExternalSelect = model.searchable
    ? {
        type: "multi_external_select",
        action_id: FIELDS.roles,
        min_query_length: 0,
        placeholder: plain("Type to search your roles", LIMITS.placeholder),
        ...(selected.length > 0 ? { initial_options: selected } : {}),
      }
    : {
        type: "multi_static_select",
        action_id: FIELDS.roles,
        placeholder: plain(ROLES_PICKER_PLACEHOLDER, LIMITS.placeholder),
        options: model.roles.slice(0, LIMITS.staticOptions).map((r) => option(r.roleName, r.roleId)),
        ...(selected.length > 0 ? { initial_options: selected } : {}),
      };
  const blocks: KnownBlock[] = [
    {
      type: "input",
      block_id: FIELDS.roles,
      dispatch_action: true,
      label: plain(ROLES_PICKER_LABEL, LIMITS.inputLabel),
      element: rolesElement,
    },
  ];
  for (const picker of model.scopePickers) {
    blocks.push({
      type: "input",
      block_id: scopeField(picker.roleId),
      label: plain(`Scope for ${picker.roleName}`, LIMITS.inputLabel),
      element: {
        type: "static_select",
        action_id: "scope",
        options: picker.scopes.slice(0, LIMITS.staticOptions).map((s) => option(s, s)),
        initial_option: option(picker.scopes[0]!, picker.scopes[0]!),
      },
    });
  }
  const initial = model.durations.find((d) => d.ms === model.defaultDurationMs) ?? model.durations.at(-1)!;
  blocks.push({
    type: "input",
    block_id: durationBlockId(model),
    label: plain("Duration", LIMITS.inputLabel),
    hint: plain(`At most ${model.durations.at(-1)!.label} for the roles picked.`, LIMITS.inputHint),
    element: {
      type: "static_select",
      action_id: FIELDS.duration,
      options: model.durations.map(durationOption),
      initial_option: durationOption(initial),
    },
  });
  blocks.push({
    type: "input",
    block_id: FIELDS.justification,
    optional: !model.justificationRequired,
    label: plain("Justification", LIMITS.inputLabel),
    element: {
      type: "plain_text_input",
      action_id: FIELDS.justification,
      multiline: true,
      max_length: model.justificationMaxLength,
      placeholder: plain("Why do you need it? Approvers and the audit log see this.", LIMITS.placeholder),
    },
  });
  if (model.ticket) {
    blocks.push({
      type: "input",
      block_id: FIELDS.ticket,
      label: plain("Ticket", LIMITS.inputLabel),
      ...(model.ticket.example ? { hint: plain(`Must look like ${model.ticket.example}.`, LIMITS.inputHint) } : {}),
      element: {
        type: "plain_text_input",
        action_id: FIELDS.ticket,
        max_length: model.ticketMaxLength,
        ...(model.ticket.example ? { placeholder: plain(model.ticket.example, LIMITS.placeholder) } : {}),
      },
    });
  }
  blocks.push({
    type: "input",
    block_id: FIELDS.start,
    optional: true,
    label: plain("Start", LIMITS.inputLabel),
    hint: plain(`Empty to start now; or ${START_EXAMPLES}, at most 30 days ahead.`, LIMITS.inputHint),
    element: { type: "plain_text_input", action_id: FIELDS.start, max_length: 40 },
  });
  if (model.childScope)
    blocks.push({
      type: "input",
      block_id: FIELDS.childScope,
      optional: true,
      label: plain("Narrower scope", LIMITS.inputLabel),
      hint: plain("Empty for the whole scope; or a path below it, e.g. /mg/prod/sub/billing.", LIMITS.inputHint),
      element: { type: "plain_text_input", action_id: FIELDS.childScope, max_length: 400 },
    });
  if (model.busy.length > 0)
    blocks.push({
      type: "context",
      elements: [
        {
          type: "plain_text",
          text: `Already active or pending, so not listed: ${model.busy.join(", ")}. Use /elevate extend for more time.`.slice(
            0,
            LIMITS.contextText,
          ),
        },
      ],
    });
  return {
    type: "modal",
    callback_id: FORMS.request,
    title: plain("Request access", LIMITS.viewTitle),
    submit: plain("Request", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks,
  };
}

type StateValues = Record<string, Record<string, ViewStateValue | undefined> | undefined>;

/** The roles picked so far, from a modal's state (for redrawing it as the pick changes). */
export function pickedRoles(values: StateValues): string[] {
  return (values[FIELDS.roles]?.[FIELDS.roles]?.selected_options ?? []).map((o) => o.value);
}

/** Reads the request form back; field ids are ours, values are whatever the client sent. */
export function readRequestForm(values: StateValues): RequestSubmission {
  const scopes: Record<string, string> = {};
  let durationMs: number | null = null;
  for (const [blockId, actions] of Object.entries(values)) {
    if (blockId.startsWith(FIELDS.scopePrefix)) {
      const value = actions?.scope?.selected_option?.value;
      if (value) scopes[blockId.slice(FIELDS.scopePrefix.length)] = value;
    }
    if (blockId.startsWith(FIELDS.duration)) {
      const ms = Number(actions?.[FIELDS.duration]?.selected_option?.value);
      durationMs = Number.isFinite(ms) && ms > 0 ? ms : null;
    }
  }
  return {
    roleIds: pickedRoles(values),
    scopes,
    durationMs,
    justification: textValue(values, FIELDS.justification),
    ticket: textValue(values, FIELDS.ticket),
    start: textValue(values, FIELDS.start),
    childScope: textValue(values, FIELDS.childScope),
  };
}

function textValue(values: StateValues, field: string): string | null {
  const v = values[field]?.[field]?.value;
  return typeof v === "string" && v.trim() !== "" ? v : null;
}

/** The block that shows a field's error; a field missing from the form falls back to the roles picker. */
export function errorBlockId(blocks: { block_id?: string }[], field: RequestFormField): string {
  const ids = blocks.map((b) => b.block_id ?? "");
  const wanted =
    field === "duration" ? ids.find((id) => id.startsWith(FIELDS.duration)) : ids.find((id) => id === field);
  return wanted ?? FIELDS.roles;
}

export function denyModal(requestId: string, summary: string): ModalView {
  return {
    type: "modal",
    callback_id: FORMS.deny,
    private_metadata: requestId,
    title: plain("Deny request", LIMITS.viewTitle),
    submit: plain("Deny", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      { type: "section", text: { type: "plain_text", text: summary.slice(0, LIMITS.sectionText) } },
      {
        type: "input",
        block_id: FIELDS.comment,
        label: plain("Why are you denying it?", LIMITS.inputLabel),
        hint: plain("The requester sees this comment.", LIMITS.inputHint),
        element: { type: "plain_text_input", action_id: FIELDS.comment, multiline: true, max_length: 1000 },
      },
    ],
  };
}

export function readComment(values: StateValues): string | null {
  return textValue(values, FIELDS.comment);
}

export function extendModal(
  activationId: string,
  roleName: string,
  durations: DurationChoice[],
  justification: string | null,
): ModalView {
  const initial = durations.find((d) => d.ms === 60 * 60_000) ?? durations.at(-1)!;
  return {
    type: "modal",
    callback_id: FORMS.extend,
    private_metadata: activationId,
    title: plain("Extend", LIMITS.viewTitle),
    submit: plain("Ask for more time", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      {
        type: "section",
        text: {
          type: "plain_text",
          text: `More time for ${roleName}, counted from now. The role's policy applies again (MFA, approval).`,
        },
      },
      {
        type: "input",
        block_id: FIELDS.duration,
        label: plain("For how long, from now", LIMITS.inputLabel),
        element: {
          type: "static_select",
          action_id: FIELDS.duration,
          options: durations.map(durationOption),
          initial_option: durationOption(initial),
        },
      },
      {
        type: "input",
        block_id: FIELDS.justification,
        optional: true,
        label: plain("Justification", LIMITS.inputLabel),
        element: {
          type: "plain_text_input",
          action_id: FIELDS.justification,
          multiline: true,
          max_length: 2000,
          ...(justification ? { initial_value: justification.slice(0, 2000) } : {}),
        },
      },
    ],
  };
}

/** A review item's removal, with an optional reason for the audit log. */
export function removeModal(itemId: string): types.ModalView {
  return {
    type: "modal",
    callback_id: FORMS.reviewRemove,
    private_metadata: itemId.slice(0, LIMITS.privateMetadata),
    title: plain("Remove access", LIMITS.viewTitle),
    submit: plain("Remove", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      {
        type: "section",
        text: {
          type: "plain_text",
          text: "The assignment is removed when the review ends (and revoked if it is held now).",
        },
      },
      {
        type: "input",
        block_id: FIELDS.reason,
        optional: true,
        label: plain("Why? (optional)", LIMITS.inputLabel),
        hint: plain("Kept in the audit log with your decision.", LIMITS.inputHint),
        element: { type: "plain_text_input", action_id: FIELDS.reason, multiline: true, max_length: 1000 },
      },
    ],
  };
}

/** An administrator's revocation: the reason is required, the holder reads it. */
export function revokeModal(form: {
  activationId: string;
  holderName: string;
  roleName: string;
  scope: string;
}): ModalView {
  return {
    type: "modal",
    callback_id: FORMS.revoke,
    private_metadata: form.activationId.slice(0, LIMITS.privateMetadata),
    title: plain("Revoke role", LIMITS.viewTitle),
    submit: plain("Revoke", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      {
        type: "section",
        text: {
          type: "plain_text",
          text: `Take ${form.roleName} at ${form.scope} away from ${form.holderName} now?`.slice(0, LIMITS.sectionText),
        },
      },
      {
        type: "input",
        block_id: FIELDS.reason,
        label: plain("Why are you revoking it?", LIMITS.inputLabel),
        hint: plain("The holder is told who revoked it and why; the audit log keeps it.", LIMITS.inputHint),
        element: { type: "plain_text_input", action_id: FIELDS.reason, multiline: true, max_length: 1000 },
      },
    ],
  };
}

/** An assignment's extension or renewal: the reason (required) and the day it should end (the proposed one filled in). */
export function assignmentModal(form: {
  assignmentId: string;
  request: "extend" | "renew";
  roleName: string;
  scope: string;
  kind: string;
  endsAt: Date;
  proposedEnd: Date;
}): ModalView {
  const renew = form.request === "renew";
  const day = (time: Date) => time.toISOString().slice(0, 10);
  const said = renew
    ? `Your ${form.kind} assignment for ${form.roleName} at ${form.scope} ended on ${day(form.endsAt)}. Ask to have it back until:`
    : `Your ${form.kind} assignment for ${form.roleName} at ${form.scope} ends on ${day(form.endsAt)}. Ask for it to last until:`;
  return {
    type: "modal",
    callback_id: renew ? FORMS.assignmentRenew : FORMS.assignmentExtend,
    private_metadata: form.assignmentId.slice(0, LIMITS.privateMetadata),
    title: plain(renew ? "Renew assignment" : "Extend assignment", LIMITS.viewTitle),
    submit: plain(renew ? "Ask to renew" : "Ask to extend", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      { type: "section", text: { type: "plain_text", text: said.slice(0, LIMITS.sectionText) } },
      {
        type: "input",
        block_id: FIELDS.endsOn,
        optional: true,
        label: plain("New end (YYYY-MM-DD)", LIMITS.inputLabel),
        hint: plain(
          "Filled in with what the role's rules allow; pick an earlier day if you need less.",
          LIMITS.inputHint,
        ),
        element: {
          type: "plain_text_input",
          action_id: FIELDS.endsOn,
          initial_value: day(form.proposedEnd),
          max_length: 10,
        },
      },
      {
        type: "input",
        block_id: FIELDS.reason,
        label: plain("Why do you need it?", LIMITS.inputLabel),
        hint: plain("The administrators read it; the audit log keeps it.", LIMITS.inputHint),
        element: { type: "plain_text_input", action_id: FIELDS.reason, multiline: true, max_length: 500 },
      },
    ],
  };
}

export function readAssignmentForm(values: StateValues): { reason: string | null; endsOn: string | null } {
  return { reason: textValue(values, FIELDS.reason), endsOn: textValue(values, FIELDS.endsOn) };
}
