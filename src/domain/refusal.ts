/** An expected "no": a stable code for the audit log and a sentence for people. */
export interface Refusal {
  code: RefusalCode;
  message: string;
}

export type RefusalCode =
  | "UNKNOWN_ROLE"
  | "UNKNOWN_PRINCIPAL"
  | "NO_ROLES"
  | "NOT_ELIGIBLE"
  | "ELIGIBILITY_NOT_STARTED"
  | "ELIGIBILITY_EXPIRED"
  | "SCOPE_NOT_ALLOWED"
  | "DURATION_INVALID"
  | "DURATION_OVER_MAX"
  | "DURATION_PAST_ELIGIBILITY"
  | "JUSTIFICATION_REQUIRED"
  | "JUSTIFICATION_TOO_LONG"
  | "TICKET_REQUIRED"
  | "TICKET_INVALID"
  | "ALREADY_ACTIVE"
  | "ALREADY_PENDING"
  | "NO_APPROVERS"
  | "NOT_ENOUGH_APPROVERS"
  | "SELF_APPROVAL"
  | "NOT_AN_APPROVER"
  | "ALREADY_VOTED"
  | "ALREADY_DECIDED"
  | "APPROVAL_TIMED_OUT"
  | "NOT_FOUND"
  | "NOT_YOURS"
  | "NOT_ALLOWED"
  | "WRONG_STATE"
  | "EARLY_DEACTIVATION_DISABLED"
  | "MFA_NOT_REQUIRED"
  | "STEP_UP_REQUIRED"
  | "ASSIGNMENT_INVALID"
  | "NOT_A_REVIEWER"
  | "SELF_REVIEW"
  | "REVIEW_CLOSED"
  // administration
  | "NOT_ADMINISTRATOR"
  | "ADMIN_ROLE_NOT_ACTIVE"
  | "SELF_ASSIGNMENT"
  | "PERMANENT_NOT_ALLOWED"
  | "ASSIGNMENT_TOO_LONG"
  | "ALREADY_ASSIGNED"
  | "REASON_REQUIRED"
  | "TOO_EARLY"
  | "TOO_LATE"
  | "REQUESTER_REMOVED"
  | "REQUESTER_NOT_ELIGIBLE"
  | "COMMENT_TOO_LONG";

export const refuse = (code: RefusalCode, message: string): Refusal => ({ code, message });
