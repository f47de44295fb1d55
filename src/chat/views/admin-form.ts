/**
 * The assignment form as every platform draws it: who, which role at which scope (one choice per
 * role and scope, so no platform has to redraw the form as a role is picked), eligible or active,
 * when it starts and ends, and why. Also the words people type for a start or an end, shared with
 * the typed `admin assign` and `admin end`.
 */
import type { AssignmentKind } from "../../domain/assignment-rules.js";
import { DAY, parseDuration } from "../../domain/duration.js";
import type { RefusalCode } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { FIELDS } from "./action-ids.js";

/** One role at one of its scopes, as the form offers it. */
export interface AssignTarget {
  /** `<roleId>|<scope>`: what the form sends back. */
  value: string;
  label: string;
  roleKey: string;
  scope: string;
}

export interface AssignFormValues {
  principal: string | null;
  target: string | null;
  kind: AssignmentKind;
  start: string | null;
  end: string | null;
  justification: string | null;
}

export interface AssignFormModel {
  targets: AssignTarget[];
  values: AssignFormValues;
}

export const EMPTY_ASSIGN_FORM: AssignFormValues = {
  principal: null,
  target: null,
  kind: "eligible",
  start: null,
  end: null,
  justification: null,
};

export const END_PLACEHOLDER = "permanent, for 30d, or until 2027-01-31";
export const START_PLACEHOLDER = "now, or a date such as 2027-01-01";
export const PRINCIPAL_PLACEHOLDER = "a pim.yaml key (bob, @bob) or an e-mail address";
export const JUSTIFICATION_MAX = 500;

export function buildAssignForm(
  roles: { id: string; key: string; name: string; scopes: string[] }[],
  values: AssignFormValues = EMPTY_ASSIGN_FORM,
): AssignFormModel {
  const targets = roles.flatMap((r) =>
    r.scopes.map((scope) => ({ value: `${r.id}|${scope}`, label: `${r.name} at ${scope}`, roleKey: r.key, scope })),
  );
  return { targets, values };
}

/** The role key and scope a submitted choice names, when it is one the form offered. */
export function targetOf(model: AssignFormModel, value: string | null): AssignTarget | undefined {
  return value ? model.targets.find((t) => t.value === value) : undefined;
}

/**
 * A start as typed: empty or `now` is from now; a date (`2027-01-01`) is 00:00 UTC that day; an
 * ISO time is that moment.
 */
export function parseStart(text: string | null): Result<Date | null, string> {
  const typed = (text ?? "").trim().toLowerCase();
  if (typed === "" || typed === "now") return ok(null);
  const at = parseDate(typed, false);
  return at ? ok(at) : err(`"${typed.slice(0, 40)}" is not a start: write now, or a date such as 2027-01-01.`);
}

/**
 * An end as typed: `permanent` (or nothing) is no end; `for 30d` (or `30d`) counts from `from`; a
 * date (`until 2027-01-31`, or the date alone) is the end of that day, UTC; an ISO time is that moment.
 */
export function parseEnd(text: string | null, from: Date): Result<Date | null, string> {
  const typed = (text ?? "").trim().toLowerCase();
  if (typed === "" || typed === "permanent" || typed === "permanently") return ok(null);
  const words = typed.replace(/^(for|until)\s+/, "");
  const lead = typed.startsWith("until ") ? "until" : typed.startsWith("for ") ? "for" : null;
  if (lead !== "until") {
    const ms = parseDuration(words);
    if (ms.ok) return ok(new Date(from.getTime() + ms.value));
    if (lead === "for") return err(`"${words.slice(0, 40)}" is not a duration: write for 30d, for 12h or for 2w.`);
  }
  const at = parseDate(words, true);
  return at
    ? ok(at)
    : err(`"${typed.slice(0, 40)}" is not an end: write permanent, for 30d, or until a date such as 2027-01-31.`);
}

function parseDate(text: string, endOfDay: boolean): Date | null {
  if (/^\d{4}-\d\d-\d\d$/.test(text)) {
    const day = new Date(`${text}T00:00:00Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== text) return null;
    return endOfDay ? new Date(day.getTime() + DAY) : day;
  }
  if (!/^\d{4}-\d\d-\d\dt\d\d:\d\d/.test(text)) return null;
  const at = new Date(text.toUpperCase());
  return Number.isNaN(at.getTime()) ? null : at;
}

/** Under which field a refusal of `assignRole` is shown. */
export function assignFieldFor(code: RefusalCode): string {
  switch (code) {
    case "UNKNOWN_ROLE":
    case "SCOPE_NOT_ALLOWED":
      return FIELDS.target;
    case "PERMANENT_NOT_ALLOWED":
    case "ASSIGNMENT_TOO_LONG":
    case "ASSIGNMENT_INVALID":
      return FIELDS.end;
    case "JUSTIFICATION_REQUIRED":
    case "JUSTIFICATION_TOO_LONG":
      return FIELDS.justification;
    default:
      // Who it is for (unknown, oneself, already assigned), and who asks (not an administrator).
      return FIELDS.principal;
  }
}
