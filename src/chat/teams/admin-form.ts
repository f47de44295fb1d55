/**
 * The administrators' forms as Adaptive Cards: the assignment form (who, role at scope, kind,
 * start, end, why), redrawn after a refused submission with every value kept and the error under
 * its field; and the removal of an assignment with its required reason.
 */
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
import { adaptiveCard, fitCard, headerOf, type Json, richBlocks, textBlock, truncate } from "./cards.js";

type CardErrors = Record<string, string>;

const errorLine = (errors: CardErrors, id: string): Json[] =>
  errors[id] ? richBlocks([errors[id]!], { spacing: "small" }, { color: "attention", size: "small" }) : [];

function textInput(id: string, label: string, value: string | null, extra: Json, errors: CardErrors): Json[] {
  const max = typeof extra.maxLength === "number" ? extra.maxLength : 200;
  return [
    { type: "Input.Text", id, label, maxLength: max, ...extra, ...(value ? { value: truncate(value, max) } : {}) },
    ...errorLine(errors, id),
  ];
}

export function assignFormCard(model: AssignFormModel, errors: CardErrors = {}): Json {
  const { values } = model;
  const body: Json[] = [
    headerOf({ header: "Assign a role", tone: "info" }),
    ...textInput(
      FIELDS.principal,
      "User or group",
      values.principal,
      { isRequired: true, errorMessage: "Name who to assign.", placeholder: PRINCIPAL_PLACEHOLDER },
      errors,
    ),
    {
      type: "Input.ChoiceSet",
      id: FIELDS.target,
      label: "Role and scope",
      style: "compact",
      isRequired: true,
      errorMessage: "Pick the role and scope.",
      choices: model.targets.map((t) => ({ title: truncate(t.label, 200), value: t.value })),
      ...(values.target ? { value: values.target } : {}),
    },
    ...errorLine(errors, FIELDS.target),
    {
      type: "Input.ChoiceSet",
      id: FIELDS.kind,
      label: "Kind",
      style: "expanded",
      isRequired: true,
      errorMessage: "Pick eligible or active.",
      choices: [
        { title: "Eligible: may activate it when needed", value: "eligible" },
        { title: "Active: holds it now", value: "active" },
      ],
      value: values.kind,
    },
    ...errorLine(errors, FIELDS.kind),
    ...textInput(
      FIELDS.start,
      "Starts (optional)",
      values.start,
      { placeholder: START_PLACEHOLDER, maxLength: 40 },
      errors,
    ),
    ...textInput(FIELDS.end, "Ends (optional)", values.end, { placeholder: END_PLACEHOLDER, maxLength: 40 }, errors),
    ...richBlocks(
      ["Empty is permanent, where the role allows it; the role's maximum applies."],
      { spacing: "small" },
      { isSubtle: true, size: "small" },
    ),
    ...textInput(
      FIELDS.justification,
      "Justification (optional)",
      values.justification,
      {
        isMultiline: true,
        maxLength: JUSTIFICATION_MAX,
        placeholder: "Why? Required for active assignments on most roles; the audit log keeps it.",
      },
      errors,
    ),
    {
      type: "ActionSet",
      actions: [
        { type: "Action.Execute", title: "Assign", verb: FORMS.assign, style: "positive", data: { view: "form" } },
      ],
    },
  ];
  return fitCard(
    adaptiveCard(body, { fallbackText: "Assign a role: who, which role, eligible or active, and until when." }),
  );
}

const text = (data: Json, id: string): string | null => {
  const v = data[id];
  return typeof v === "string" && v.trim() !== "" ? v : null;
};

/** Reads the assignment form back from an Action.Execute's data; ids are ours, values whatever the client sent. */
export function readAssignSubmission(data: Json): AssignFormValues {
  return {
    principal: text(data, FIELDS.principal),
    target: text(data, FIELDS.target),
    kind: data[FIELDS.kind] === "active" ? "active" : "eligible",
    start: text(data, FIELDS.start),
    end: text(data, FIELDS.end),
    justification: text(data, FIELDS.justification),
  };
}

/** The form a Remove click posts: the reason (required) and the button that removes. */
export function removeAssignmentFormCard(
  a: AssignmentSubject,
  reason: string | null = null,
  error: string | null = null,
): Json {
  return adaptiveCard(
    [
      ...richBlocks([{ strong: "Remove this assignment?" }]),
      textBlock(
        `${a.principalName}'s ${a.kind} assignment for ${a.roleName} at ${a.scope} (${endText(a.endsAt)}). What it backed ends with it.`,
      ),
      {
        type: "Input.Text",
        id: FIELDS.reason,
        label: "Why are you removing it?",
        isMultiline: true,
        isRequired: true,
        errorMessage: "Say why you remove it; the audit log keeps it.",
        maxLength: 500,
        ...(reason ? { value: truncate(reason, 500) } : {}),
      },
      ...(error ? richBlocks([error], { spacing: "small" }, { color: "attention", size: "small" }) : []),
      {
        type: "ActionSet",
        actions: [
          {
            type: "Action.Execute",
            title: "Remove",
            verb: FORMS.assignmentRemove,
            data: { value: a.assignmentId, view: "form" },
            style: "destructive",
          },
        ],
      },
    ],
    { fallbackText: "Remove this assignment?" },
  );
}
