/**
 * The request and extension forms as Adaptive Cards posted in the chat. A card cannot redraw
 * itself while a person picks roles, so the first form shows what any role may need (a scope
 * picker per role with several scopes, the ticket field when a role wants one); after a refused
 * submission it is redrawn for the roles picked, with every value kept and each error under its field.
 */
import { formatDuration } from "../../domain/duration.js";
import { START_EXAMPLES } from "../../domain/start-time.js";
import { FIELDS, FORMS, scopeField } from "../views/action-ids.js";
import type { Card } from "../views/card.js";
import {
  type DurationChoice,
  type FormRole,
  type RequestFormModel,
  type RequestSubmission,
  ROLES_PICKER_LABEL,
} from "../views/request-form.js";
import { adaptiveCard, fitCard, headerOf, type Json, richBlocks, truncate } from "./cards.js";

/** What was typed last time, so a redrawn form keeps it. */
export interface FormValues {
  roleIds: string[];
  scopes: Record<string, string>;
  durationMs: number | null;
  justification: string | null;
  ticket: string | null;
  start: string | null;
  childScope: string | null;
}

/** Errors keyed by input id (roles, duration, justification, ticket, scope.<roleId>). */
export type CardErrors = Record<string, string>;

const EXPANDED_ROLES = 8;

const errorLine = (errors: CardErrors, id: string): Json[] =>
  errors[id] ? richBlocks([errors[id]!], { spacing: "small" }, { color: "attention", size: "small" }) : [];

const choice = (title: string, value: string) => ({ title: truncate(title, 200), value });

function durationInput(durations: DurationChoice[], value: number, hint: string, errors: CardErrors): Json[] {
  const chosen = durations.find((d) => d.ms === value) ?? durations.at(-1)!;
  return [
    {
      type: "Input.ChoiceSet",
      id: FIELDS.duration,
      label: "Duration",
      style: "compact",
      isRequired: true,
      errorMessage: "Pick how long you need it.",
      choices: durations.map((d) => choice(d.label, String(d.ms))),
      value: String(chosen.ms),
    },
    ...errorLine(errors, FIELDS.duration),
    ...richBlocks([hint], { spacing: "small" }, { isSubtle: true, size: "small" }),
  ];
}

function justificationInput(required: boolean, maxLength: number, value: string | null, errors: CardErrors): Json[] {
  return [
    {
      type: "Input.Text",
      id: FIELDS.justification,
      label: required ? "Justification" : "Justification (optional)",
      isMultiline: true,
      maxLength,
      isRequired: required,
      errorMessage: "Say why you need it.",
      placeholder: "Why do you need it? Approvers and the audit log see this.",
      ...(value ? { value: truncate(value, maxLength) } : {}),
    },
    ...errorLine(errors, FIELDS.justification),
  ];
}

/** The roles that need a field, when nothing is picked yet: the form shows it for them by name. */
const forNames = (roles: FormRole[]) => roles.map((r) => r.roleName).join(", ");

export function requestFormCard(
  model: RequestFormModel,
  values: Partial<FormValues> = {},
  errors: CardErrors = {},
): Json {
  if (model.roles.length === 0) return nothingToRequest(model);
  const picked = model.selected.length > 0;
  const roleIds = values.roleIds ?? model.selected.map((r) => r.roleId);
  const body: Json[] = [
    headerOf({ header: "Request access", tone: "info" }),
    {
      type: "Input.ChoiceSet",
      id: FIELDS.roles,
      label: ROLES_PICKER_LABEL,
      isMultiSelect: true,
      style: model.roles.length <= EXPANDED_ROLES ? "expanded" : "compact",
      isRequired: true,
      errorMessage: "Pick at least one role.",
      choices: model.roles.map((r) => choice(r.roleName, r.roleId)),
      ...(roleIds.length > 0 ? { value: roleIds.join(",") } : {}),
    },
    ...errorLine(errors, FIELDS.roles),
  ];

  const scoped = (picked ? model.selected : model.roles).filter((r) => r.scopes.length > 1);
  for (const role of scoped) {
    const id = scopeField(role.roleId);
    body.push(
      {
        type: "Input.ChoiceSet",
        id,
        label: picked ? `Scope for ${role.roleName}` : `Scope for ${role.roleName} (if you pick it)`,
        style: "compact",
        choices: role.scopes.map((s) => choice(s, s)),
        value: values.scopes?.[role.roleId] ?? role.scopes[0]!,
      },
      ...errorLine(errors, id),
    );
  }

  const hint = picked
    ? `At most ${model.durations.at(-1)!.label} for the roles picked.`
    : "Each role has its own maximum; a longer pick is refused with the limit.";
  body.push(...durationInput(model.durations, values.durationMs ?? model.defaultDurationMs, hint, errors));
  body.push(
    ...justificationInput(
      model.justificationRequired,
      model.justificationMaxLength,
      values.justification ?? null,
      errors,
    ),
  );

  const ticketRoles = (picked ? model.selected : model.roles).filter((r) => r.requireTicket);
  if (ticketRoles.length > 0 || errors[FIELDS.ticket]) {
    const example = ticketRoles.find((r) => r.ticketExample)?.ticketExample ?? null;
    body.push(
      {
        type: "Input.Text",
        id: FIELDS.ticket,
        label: picked ? "Ticket" : `Ticket (needed for ${forNames(ticketRoles)})`,
        maxLength: model.ticketMaxLength,
        ...(example ? { placeholder: example } : {}),
        ...(values.ticket ? { value: truncate(values.ticket, model.ticketMaxLength) } : {}),
      },
      ...errorLine(errors, FIELDS.ticket),
    );
  }
  body.push(
    {
      type: "Input.Text",
      id: FIELDS.start,
      label: "Start (optional)",
      maxLength: 40,
      placeholder: `Empty to start now; or ${START_EXAMPLES}`,
      ...(values.start ? { value: truncate(values.start, 40) } : {}),
    },
    ...errorLine(errors, FIELDS.start),
  );
  const childRoles = (picked ? model.selected : model.roles).filter((r) => r.allowChildScope);
  if (childRoles.length > 0 || errors[FIELDS.childScope])
    body.push(
      {
        type: "Input.Text",
        id: FIELDS.childScope,
        label: picked ? "Narrower scope (optional)" : `Narrower scope (optional; for ${forNames(childRoles)})`,
        maxLength: 400,
        placeholder: "Empty for the whole scope; or a path below it, e.g. /mg/prod/sub/billing",
        ...(values.childScope ? { value: truncate(values.childScope, 400) } : {}),
      },
      ...errorLine(errors, FIELDS.childScope),
    );
  if (model.busy.length > 0)
    body.push(
      ...richBlocks(
        [`Already active or pending, so not listed: ${model.busy.join(", ")}. Use extend for more time.`],
        {},
        { isSubtle: true, size: "small" },
      ),
    );
  body.push({
    type: "ActionSet",
    actions: [
      { type: "Action.Execute", title: "Request", verb: FORMS.request, style: "positive", data: { view: "form" } },
    ],
  });
  return fitCard(adaptiveCard(body, { fallbackText: "Request access: pick roles, a duration and a justification." }));
}

/** A form resubmitted after everything it offered became active or pending: nothing left to pick. */
function nothingToRequest(model: RequestFormModel): Json {
  const busy = model.busy.length > 0 ? `Already active or pending: ${model.busy.join(", ")}.` : "";
  return adaptiveCard(
    [
      headerOf({ header: "Request access", tone: "muted" }),
      ...richBlocks([`There is nothing you can request right now. ${busy}`.trim()]),
    ],
    { fallbackText: "Nothing to request right now." },
  );
}

const text = (data: Json, id: string): string | null => {
  const v = data[id];
  return typeof v === "string" && v.trim() !== "" ? v : null;
};

/** Reads the form back from an Action.Execute's data; ids are ours, values are whatever the client sent. */
export function readRequestSubmission(data: Json): RequestSubmission {
  const roles = typeof data[FIELDS.roles] === "string" ? (data[FIELDS.roles] as string) : "";
  const scopes: Record<string, string> = {};
  for (const [key, value] of Object.entries(data))
    if (key.startsWith(FIELDS.scopePrefix) && typeof value === "string" && value)
      scopes[key.slice(FIELDS.scopePrefix.length)] = value;
  const ms = Number(data[FIELDS.duration]);
  return {
    roleIds: [
      ...new Set(
        roles
          .split(",")
          .map((r) => r.trim())
          .filter(Boolean),
      ),
    ],
    scopes,
    durationMs: Number.isFinite(ms) && ms > 0 ? ms : null,
    justification: text(data, FIELDS.justification),
    ticket: text(data, FIELDS.ticket)?.trim() ?? null,
    start: text(data, FIELDS.start),
    childScope: text(data, FIELDS.childScope)?.trim() ?? null,
  };
}

export function extendFormCard(
  activationId: string,
  roleName: string,
  durations: DurationChoice[],
  values: { durationMs: number | null; justification: string | null },
  errors: CardErrors = {},
): Json {
  const body: Json[] = [
    headerOf({ header: `Extend ${roleName}`, tone: "info" }),
    ...richBlocks([`More time for ${roleName}, counted from now. The role's policy applies again (MFA, approval).`]),
    ...durationInput(durations, values.durationMs ?? 60 * 60_000, `At most ${durations.at(-1)!.label}.`, errors),
    ...justificationInput(false, 2_000, values.justification, errors),
    {
      type: "ActionSet",
      actions: [
        {
          type: "Action.Execute",
          title: "Ask for more time",
          verb: FORMS.extend,
          style: "positive",
          data: { value: activationId, view: "extend" },
        },
      ],
    },
  ];
  return fitCard(adaptiveCard(body, { fallbackText: `Extend ${roleName}` }));
}

export function readExtendSubmission(data: Json): { durationMs: number | null; justification: string | null } {
  const ms = Number(data[FIELDS.duration]);
  return { durationMs: Number.isFinite(ms) && ms > 0 ? ms : null, justification: text(data, FIELDS.justification) };
}

/** What a sent form turns into: a receipt, while the live card about the request follows in the chat. */
export function submittedCard(what: string, roles: string[], durationMs: number): Card {
  return {
    header: what,
    tone: "muted",
    summary: `${what}: ${roles.join(", ")}`,
    blocks: [
      { type: "text", text: [{ strong: roles.join(", ") }, ` for ${formatDuration(durationMs)}.`] },
      { type: "context", lines: [["Its card, kept up to date, is the next message in this chat."]] },
    ],
  };
}
