import { formatDuration, HOUR, MINUTE } from "../../domain/duration.js";
import type { RefusalCode } from "../../domain/refusal.js";
import { MAX_JUSTIFICATION_LENGTH, MAX_TICKET_LENGTH, MIN_ACTIVATION_MS } from "../../domain/request-rules.js";
import type { EligibleRoleView } from "../../domain/request-view.js";
import type { RequestFormField } from "./action-ids.js";

/** Beyond this many roles a picker becomes a type-ahead search (Slack's static select holds 100). */
export const STATIC_PICKER_LIMIT = 100;

const DURATION_STEPS = [15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, 24 * HOUR];

export interface FormRole {
  roleId: string;
  roleName: string;
  scopes: string[];
  maxDurationMs: number;
  requireTicket: boolean;
  ticketExample: string | null;
  requireJustification: boolean;
  allowChildScope: boolean;
}

export interface DurationChoice {
  ms: number;
  label: string;
}

/**
 * The label of the form's picker: the roles offered include memberships and ownerships of
 * privileged groups (PIM for Groups), which one request may mix with roles.
 */
export const ROLES_PICKER_LABEL = "Roles and groups";
export const ROLES_PICKER_PLACEHOLDER = "Pick one or more roles or groups";

/** The request form as every platform draws it, for the roles picked so far. */
export interface RequestFormModel {
  /** Roles that can be requested now (those already active or pending are left out). */
  roles: FormRole[];
  /** Names of roles left out because a request for them is open. */
  busy: string[];
  selected: FormRole[];
  /** A scope picker for each picked role that can be activated at more than one scope. */
  scopePickers: { roleId: string; roleName: string; scopes: string[] }[];
  durations: DurationChoice[];
  defaultDurationMs: number;
  /** The ticket field, shown only when a picked role requires one. */
  ticket: { example: string | null } | null;
  justificationRequired: boolean;
  justificationMaxLength: number;
  ticketMaxLength: number;
  /** More roles than a plain picker holds: search as you type. */
  searchable: boolean;
  /** The narrower-scope field, shown when a picked role allows one. */
  childScope: boolean;
}

export function toFormRole(r: EligibleRoleView): FormRole {
  return {
    roleId: r.roleId,
    roleName: r.roleName,
    scopes: r.scopes,
    maxDurationMs: r.policy.maxDurationMs,
    requireTicket: r.policy.requireTicket,
    ticketExample: r.policy.ticketExample,
    requireJustification: r.policy.requireJustification,
    allowChildScope: r.policy.allowChildScope,
  };
}

export function buildRequestForm(eligible: EligibleRoleView[], selectedRoleIds: string[]): RequestFormModel {
  const roles = eligible.filter((r) => !r.busy).map(toFormRole);
  const selected = selectedRoleIds
    .map((id) => roles.find((r) => r.roleId === id))
    .filter((r): r is FormRole => r !== undefined);
  const maxMs = selected.length > 0 ? Math.min(...selected.map((r) => r.maxDurationMs)) : maxOf(roles);
  const durations = durationChoices(maxMs);
  const ticketRole = selected.find((r) => r.requireTicket);
  return {
    roles,
    busy: eligible.filter((r) => r.busy).map((r) => r.roleName),
    selected,
    scopePickers: selected
      .filter((r) => r.scopes.length > 1)
      .map((r) => ({ roleId: r.roleId, roleName: r.roleName, scopes: r.scopes })),
    durations,
    defaultDurationMs: defaultDuration(durations),
    ticket: ticketRole ? { example: ticketRole.ticketExample } : null,
    justificationRequired: selected.length === 0 || selected.some((r) => r.requireJustification),
    justificationMaxLength: MAX_JUSTIFICATION_LENGTH,
    ticketMaxLength: MAX_TICKET_LENGTH,
    searchable: roles.length > STATIC_PICKER_LIMIT,
    childScope: selected.some((r) => r.allowChildScope),
  };
}

function maxOf(roles: FormRole[]): number {
  return roles.length > 0 ? Math.max(...roles.map((r) => r.maxDurationMs)) : 8 * HOUR;
}

/** Round steps up to the strictest maximum of the picked roles, and that maximum itself. */
export function durationChoices(maxMs: number): DurationChoice[] {
  const steps = DURATION_STEPS.filter((ms) => ms >= MIN_ACTIVATION_MS && ms < maxMs);
  return [...steps, maxMs].map((ms) => ({ ms, label: formatDuration(ms) }));
}

/** One hour when allowed, else the longest allowed: the most common ask in comparable tools. */
function defaultDuration(choices: DurationChoice[]): number {
  return (choices.find((c) => c.ms === HOUR) ?? choices.at(-1)!).ms;
}

/** Type-ahead over role names and keys, case-insensitive, at most `limit` results. */
export function searchRoles(roles: FormRole[], query: string, limit = STATIC_PICKER_LIMIT): FormRole[] {
  const q = query.trim().toLowerCase();
  const hits = q ? roles.filter((r) => r.roleName.toLowerCase().includes(q)) : roles;
  return hits.slice(0, limit);
}

/** What a person typed, read back from whichever platform's form. */
export interface RequestSubmission {
  roleIds: string[];
  /** roleId → scope, for roles with a scope picker. */
  scopes: Record<string, string>;
  durationMs: number | null;
  justification: string | null;
  ticket: string | null;
  /** The start as typed (empty: now). */
  start: string | null;
  /** A narrower scope as typed, for the picked roles that allow one. */
  childScope: string | null;
}

export type FormErrors = Partial<Record<RequestFormField, string>>;

/** Checks the form can be sent at all; the engine then checks everything else against policy. */
export function checkSubmission(model: RequestFormModel, sub: RequestSubmission): FormErrors {
  const errors: FormErrors = {};
  if (sub.roleIds.length === 0) errors.roles = "Pick at least one role.";
  else if (sub.roleIds.some((id) => !model.roles.some((r) => r.roleId === id)))
    errors.roles = "One of these roles can no longer be requested; open the form again.";
  if (sub.durationMs === null) errors.duration = "Pick how long you need it.";
  return errors;
}

/** Where an engine refusal belongs on the form, so the message appears next to what caused it. */
export function fieldForRefusal(code: RefusalCode): RequestFormField {
  switch (code) {
    case "DURATION_INVALID":
    case "DURATION_OVER_MAX":
    case "DURATION_PAST_ELIGIBILITY":
      return "duration";
    case "JUSTIFICATION_REQUIRED":
    case "JUSTIFICATION_TOO_LONG":
    case "JUSTIFICATION_INVALID":
      return "justification";
    case "TICKET_REQUIRED":
    case "TICKET_INVALID":
      return "ticket";
    case "START_INVALID":
    case "START_IN_PAST":
    case "START_TOO_FAR":
      return "start";
    default:
      return "roles";
  }
}
