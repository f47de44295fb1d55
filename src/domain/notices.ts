/**
 * What the use cases ask chat to tell people: alerts, review prompts, notices and digests, as
 * plain data. How each is drawn is chat's business (src/chat/views/), where it goes chat's outbound
 * side (src/chat/notify/).
 */
import type { AlertField, Severity } from "./alert-rules.js";
import type { PersonView } from "./request-view.js";
import type { CampaignSummary, ReviewPage, ReviewReminder } from "./review-view.js";

export type ChatMessage =
  | { type: "alert"; alert: AlertRecord }
  /** More alerts of one rule opened at once than are worth a card each. */
  | { type: "alerts.overflow"; rule: string; title: string; count: number; at: Date }
  | { type: "review.prompt"; page: ReviewPage }
  | { type: "review.reminder"; reminder: ReviewReminder }
  | { type: "review.summary"; summary: CampaignSummary }
  | { type: "expiring"; notice: ExpiringNotice }
  | { type: "activity"; notice: ActivityNotice }
  | { type: "removals"; notice: RemovalsNotice }
  | { type: "digest"; digest: Digest }
  /** One of a person's MFA factors was added, replaced or removed: told to them (and to admins when it waits out a delay). */
  | { type: "mfa.factor"; notice: FactorNotice }
  /** An administrator revoked one of the person's roles: which, who and why. */
  | { type: "activation.revoked"; notice: RevokedNotice }
  /** An administrator made, changed or removed an assignment: told to the role's assignment audiences. */
  | { type: "assignment.changed"; notice: AssignmentChangeNotice }
  /** An assignment ends in 14 days or tomorrow: the holder's reminder (with Extend), or the administrators' copy. */
  | { type: "assignment.expiring"; notice: AssignmentExpiringNotice }
  /** An extension or renewal: the administrators' card (Approve / Deny, redrawn once decided), or the requester's outcome. */
  | { type: "assignment.request"; notice: AssignmentRequestNotice };

export type AssignmentKindName = "eligible" | "active";

/** An assignment made, changed or removed, for the audiences of its role's `notifications.assignment`. */
export interface AssignmentChangeNotice {
  change: "created" | "updated" | "removed";
  assignmentId: string | null;
  holder: string;
  roleName: string;
  scope: string;
  kind: AssignmentKindName;
  endsAt: Date | null;
  /** The administrator's name, or `cli:<login>`. */
  by: string;
  reason: string | null;
  at: Date;
}

/** An assignment about to end, 14 days or 1 day before. */
export interface AssignmentExpiringNotice {
  assignmentId: string;
  holder: string;
  roleName: string;
  scope: string;
  kind: AssignmentKindName;
  endsAt: Date;
  leadMs: number;
  /** False for an assignment declared in pim.yaml: only the file changes its end. */
  extendable: boolean;
  /** True on the administrators' copy. */
  forAdmins: boolean;
  at: Date;
}

/** An extension or renewal request, as it stands. */
export interface AssignmentRequestNotice {
  requestId: string;
  request: "extend" | "renew";
  status: "pending" | "approved" | "denied" | "canceled";
  requester: PersonView;
  /** Who holds the assignment (the requester, or a group they belong to). */
  holder: string;
  roleName: string;
  scope: string;
  kind: AssignmentKindName;
  /** The assignment's end when it was asked (null when it is gone). */
  currentEnd: Date | null;
  askedEnd: Date | null;
  reason: string | null;
  requestedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  comment: string | null;
  /** True on the requester's copy, which tells the outcome. */
  forRequester: boolean;
}

/** An administrator took a role away: what its holder is told. */
export interface RevokedNotice {
  holder: PersonView;
  activationId: string;
  requestId: string;
  roleName: string;
  scope: string;
  /** The administrator's name (or `cli:<login>` for the operator). */
  revokedBy: string;
  reason: string;
  at: Date;
}

export interface FactorNotice {
  person: PersonView;
  change: "added" | "replaced" | "removed";
  method: "totp" | "passkey" | string;
  /** How adding it was allowed: factor, invitation, oidc, delay. */
  via: string | null;
  /** When it starts to count, for a factor set up without proof. */
  usableAt: Date | null;
  /** Who made the change when it was not the person (an administrator's reset). */
  by: string | null;
  /** True on the copies the administrators get. */
  forAdmins: boolean;
  at: Date;
}

/**
 * Names a message so that a later call with the same key redraws it in place: `subjectId` is what
 * it is about (an alert, a review page, a campaign), `kind` which of its messages.
 */
export interface MessageKey {
  subjectId: string;
  kind: string;
}

export type ActivityKind = "granted" | "ended" | "denied" | "failed" | "timed_out" | "approval_needed";

/** A short notice that something happened to an activation, for the audiences around it. */
export interface ActivityNotice {
  kind: ActivityKind;
  requester: PersonView;
  requestId: string;
  activationId: string;
  roleName: string;
  scope: string;
  endsAt: Date | null;
  reason: string | null;
  at: Date;
}

export interface ExpiringNotice {
  activationId: string;
  roleName: string;
  scope: string;
  endsAt: Date;
  at: Date;
}

export interface RemovalsNotice {
  review: string;
  /** The first of them, for the message; `total` says how many there were. */
  removals: { holder: string; roleName: string; scope: string; kind: "eligible" | "active" }[];
  total: number;
  /** True when the person told lost these themselves. */
  own: boolean;
}

/** The weekly digest one administrator gets. */
export interface Digest {
  admin: PersonView;
  from: Date;
  to: Date;
  activationsByRole: { roleName: string; count: number }[];
  totalActivations: number;
  topActivators: { name: string; count: number }[];
  openAlerts: Record<Severity, number>;
  newestAlerts: { title: string; severity: Severity; openedAt: Date }[];
  reviewsDue: { title: string; endsAt: Date; undecided: number; mine: number }[];
}

export type AlertStatus = "open" | "acknowledged" | "resolved";

/** An alert as chat and the alerts API show it. */
export interface AlertRecord {
  id: string;
  rule: string;
  conditionKey: string;
  severity: Severity;
  title: string;
  text: string;
  subject: string | null;
  fields: AlertField[];
  status: AlertStatus;
  openedAt: Date;
  lastSeenAt: Date;
  acknowledgedBy: PersonView | null;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
  /** How many times it occurred (incidents; 1 for other conditions). */
  occurrences: number;
  /** The incident's latest occurrence (null for other conditions). */
  lastOccurredAt: Date | null;
}

/** What the engine itself raises as an alert event. */
export type AlertKind =
  | "break_glass_used"
  | "unauthorized_approval"
  | "grant_failed"
  | "revoke_failing"
  | "target_failing"
  | "active_assignment_used"
  | "mfa_failures"
  | "mfa_locked"
  | "mfa_factor_changed"
  | "assigned_outside_pim";
