/**
 * The stable ids of buttons and form fields. They are part of messages already posted, so a
 * renamed id would break every card in people's chat history: add, never rename.
 * A button's value names a request, activation, role or alert; never a person.
 */
export const ACTIONS = {
  /** value: request id */
  approve: "pim.approve",
  /** value: request id; opens the comment form */
  deny: "pim.deny",
  /** value: request id */
  cancel: "pim.cancel",
  /** value: activation id */
  endNow: "pim.end",
  /** value: activation id; opens the extend form */
  extend: "pim.extend",
  /** value: role id, or "" for the form with nothing picked */
  activate: "pim.activate",
  /** value: alert id */
  acknowledge: "pim.alert.ack",
  /** value: review item id */
  reviewKeep: "pim.review.keep",
  /** value: review item id; Slack opens a form for an optional reason first */
  reviewRemove: "pim.review.remove",
  /** value: review campaign id; carries out a closed review that was not applied automatically */
  reviewApply: "pim.review.apply",
  /** value: activation id; an administrator takes the role away, the form asks for the reason first */
  revoke: "pim.revoke",
  /** value: assignment id; the holder asks for a later end (from 14 days before it); opens the form */
  assignmentExtend: "pim.assignment.extend",
  /** value: assignment id; the holder asks to have an ended assignment back (within 30 days); opens the form */
  assignmentRenew: "pim.assignment.renew",
  /** value: assignment request id */
  assignmentApprove: "pim.assignment.approve",
  /** value: assignment request id; the comment next to the buttons is optional */
  assignmentDeny: "pim.assignment.deny",
  /** value: assignment id; an administrator removes it, the form asks for the reason first */
  assignmentRemove: "pim.assignment.remove",
} as const;

export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];

/** Forms (modals, task modules) and their fields. */
export const FORMS = {
  request: "pim.form.request",
  deny: "pim.form.deny",
  extend: "pim.form.extend",
  /** A review item's removal with its optional reason; the form's metadata is the item id. */
  reviewRemove: "pim.form.review.remove",
  /** An administrator's revocation with its required reason; the form's metadata is the activation id. */
  revoke: "pim.form.revoke",
  /** An assignment's extension: reason and wanted end; the form's metadata is the assignment id. */
  assignmentExtend: "pim.form.assignment.extend",
  /** An ended assignment's renewal: reason and wanted end; the form's metadata is the assignment id. */
  assignmentRenew: "pim.form.assignment.renew",
  /** An administrator assigns a user or group to a role (`admin` alone, or `admin assign`). */
  assign: "pim.form.assign",
  /** An administrator removes an assignment with its required reason; the form's metadata is the assignment id. */
  assignmentRemove: "pim.form.assignment.remove",
} as const;

export const FIELDS = {
  roles: "roles",
  /** One scope picker per role with several scopes: `scope.<roleId>`. */
  scopePrefix: "scope.",
  duration: "duration",
  justification: "justification",
  ticket: "ticket",
  comment: "comment",
  /** A scheduled start, typed: empty for now, "in 2h", "2026-12-06 09:00". */
  start: "start",
  /** A scope below the eligibility's, for roles that allow it. */
  childScope: "child_scope",
  /** Why a reviewer removes an assignment (optional), or why an administrator revokes a role (required). */
  reason: "reason",
  /** The day an extended or renewed assignment should end (YYYY-MM-DD). */
  endsOn: "ends_on",
  /** The assignment form: who (a key, an e-mail or a mention), which role at which scope, kind, start and end. */
  principal: "principal",
  target: "target",
  kind: "kind",
  end: "end",
} as const;

export type RequestFormField = "roles" | "duration" | "justification" | "ticket" | "start" | "child_scope";

export const scopeField = (roleId: string) => `${FIELDS.scopePrefix}${roleId}`;

/** The comment box next to a request's Approve and Deny buttons (several may share a card: the pending list). */
export const commentField = (requestId: string) => `${FIELDS.comment}.${requestId}`;
