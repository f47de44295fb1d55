/**
 * The administrators' modals: the assignment form (who, role at scope, kind, start, end, why) and
 * the removal of an assignment with its required reason.
 */
import type { types, ViewStateValue } from "@slack/bolt";
import type { AssignmentSubject } from "../../app/admin/chat-references.js";
import { FIELDS, FORMS } from "../views/action-ids.js";
import { endText } from "../views/admin-cards.js";
import {
  type AssignFormModel,
  type AssignFormValues,
  END_PLACEHOLDER,
  JUSTIFICATION_MAX,
  PRINCIPAL_PLACEHOLDER,
  START_PLACEHOLDER,
} from "../views/admin-form.js";
import { LIMITS, plain } from "./blocks.js";

type ModalView = types.ModalView;
type KnownBlock = types.KnownBlock;
type StateValues = Record<string, Record<string, ViewStateValue | undefined> | undefined>;

const option = (text: string, value: string): types.PlainTextOption => ({
  text: plain(text, LIMITS.optionText),
  value: value.slice(0, LIMITS.optionValue),
});

const KINDS = [option("Eligible: may activate it when needed", "eligible"), option("Active: holds it now", "active")];

function textInput(
  field: string,
  label: string,
  value: string | null,
  opts: { optional?: boolean; placeholder?: string; hint?: string; multiline?: boolean; max?: number } = {},
): KnownBlock {
  return {
    type: "input",
    block_id: field,
    optional: opts.optional ?? false,
    label: plain(label, LIMITS.inputLabel),
    ...(opts.hint ? { hint: plain(opts.hint, LIMITS.inputHint) } : {}),
    element: {
      type: "plain_text_input",
      action_id: field,
      ...(opts.multiline ? { multiline: true } : {}),
      ...(opts.max ? { max_length: opts.max } : {}),
      ...(opts.placeholder ? { placeholder: plain(opts.placeholder, LIMITS.placeholder) } : {}),
      ...(value ? { initial_value: value.slice(0, opts.max ?? 3000) } : {}),
    },
  };
}

export function assignModal(model: AssignFormModel): ModalView {
  const { values } = model;
  const targets = model.targets.slice(0, LIMITS.staticOptions).map((t) => option(t.label, t.value));
  const picked = targets.find((t) => t.value === values.target);
  const blocks: KnownBlock[] = [
    textInput(FIELDS.principal, "User or group", values.principal, {
      placeholder: PRINCIPAL_PLACEHOLDER,
      max: 200,
    }),
    {
      type: "input",
      block_id: FIELDS.target,
      label: plain("Role and scope", LIMITS.inputLabel),
      ...(model.targets.length > LIMITS.staticOptions
        ? { hint: plain("More roles than fit here: type /elevate admin assign for the others.", LIMITS.inputHint) }
        : {}),
      element: {
        type: "static_select",
        action_id: FIELDS.target,
        placeholder: plain("Pick a role at one of its scopes", LIMITS.placeholder),
        options: targets,
        ...(picked ? { initial_option: picked } : {}),
      },
    },
    {
      type: "input",
      block_id: FIELDS.kind,
      label: plain("Kind", LIMITS.inputLabel),
      element: {
        type: "static_select",
        action_id: FIELDS.kind,
        options: KINDS,
        initial_option: KINDS.find((k) => k.value === values.kind) ?? KINDS[0]!,
      },
    },
    textInput(FIELDS.start, "Starts", values.start, { optional: true, placeholder: START_PLACEHOLDER, max: 40 }),
    textInput(FIELDS.end, "Ends", values.end, {
      optional: true,
      placeholder: END_PLACEHOLDER,
      hint: "Empty is permanent, where the role allows it; the role's maximum applies.",
      max: 40,
    }),
    textInput(FIELDS.justification, "Justification", values.justification, {
      optional: true,
      multiline: true,
      max: JUSTIFICATION_MAX,
      placeholder: "Why? Required for active assignments on most roles; the audit log keeps it.",
    }),
  ];
  return {
    type: "modal",
    callback_id: FORMS.assign,
    title: plain("Assign a role", LIMITS.viewTitle),
    submit: plain("Assign", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks,
  };
}

const typed = (values: StateValues, field: string): string | null => {
  const v = values[field]?.[field]?.value;
  return typeof v === "string" && v.trim() !== "" ? v : null;
};

/** Reads the assignment form back; field ids are ours, values are whatever the client sent. */
export function readAssignForm(values: StateValues): AssignFormValues {
  const kind = values[FIELDS.kind]?.[FIELDS.kind]?.selected_option?.value;
  return {
    principal: typed(values, FIELDS.principal),
    target: values[FIELDS.target]?.[FIELDS.target]?.selected_option?.value ?? null,
    kind: kind === "active" ? "active" : "eligible",
    start: typed(values, FIELDS.start),
    end: typed(values, FIELDS.end),
    justification: typed(values, FIELDS.justification),
  };
}

/** An administrator's removal of an assignment: the reason is required and kept in the audit log. */
export function removeAssignmentModal(a: AssignmentSubject): ModalView {
  return {
    type: "modal",
    callback_id: FORMS.assignmentRemove,
    private_metadata: a.assignmentId.slice(0, LIMITS.privateMetadata),
    title: plain("Remove assignment", LIMITS.viewTitle),
    submit: plain("Remove", LIMITS.viewButton),
    close: plain("Cancel", LIMITS.viewButton),
    blocks: [
      {
        type: "section",
        text: {
          type: "plain_text",
          text: `Remove ${a.principalName}'s ${a.kind} assignment for ${a.roleName} at ${a.scope} (${endText(a.endsAt)})? What it backed ends with it.`.slice(
            0,
            LIMITS.sectionText,
          ),
        },
      },
      textInput(FIELDS.reason, "Why are you removing it?", null, {
        multiline: true,
        max: 500,
        hint: "Kept in the audit log.",
      }),
    ],
  };
}
