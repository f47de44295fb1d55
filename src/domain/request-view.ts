/**
 * What a request, a person and an eligible role look like to the people around them: plain data
 * the use cases return and the chat views draw, with no storage behind it.
 */
import type { ActivationStatus } from "./activation.js";
import type { Policy } from "./policy.js";

export interface PersonView {
  id: string;
  key: string;
  name: string;
  email: string | null;
  slackId: string | null;
  teamsId: string | null;
}

export interface DecisionView {
  approver: PersonView;
  decision: "approve" | "deny";
  comment: string | null;
  at: Date;
}

export interface RoleInRequestView {
  activationId: string;
  roleId: string;
  roleKey: string;
  roleName: string;
  scope: string;
  status: ActivationStatus;
  statusText: string;
  activatedAt: Date | null;
  endsAt: Date | null;
  /** The scheduled start, when one was asked for. */
  startsAt: Date | null;
  reason: string | null;
  approvalsNeeded: number;
  approvalsSoFar: number;
  /** How often the requester activated this role in the last 30 days (shown to approvers). */
  recentActivations: number;
  allowEarlyDeactivation: boolean;
  /** The role's policy counts an Approve only with a comment. */
  approvalCommentRequired: boolean;
}

/** Everything chat needs to draw a request, for the requester and for its approvers alike. */
export interface RequestView {
  requestId: string;
  requester: PersonView;
  requestedAt: Date;
  durationMs: number;
  justification: string | null;
  ticket: string | null;
  origin: string;
  extendsId: string | null;
  /** The scheduled start, when one was asked for. */
  startsAt: Date | null;
  roles: RoleInRequestView[];
  /** The furthest-behind state of the request's roles, for a one-line summary. */
  status: ActivationStatus;
  approvalDeadline: Date | null;
  decisions: DecisionView[];
  /** The users who may decide right now (current policy and membership). */
  approvers: PersonView[];
}

export function person(p: {
  id: string;
  key: string;
  name: string;
  email: string | null;
  slackId: string | null;
  teamsId: string | null;
}): PersonView {
  return { id: p.id, key: p.key, name: p.name, email: p.email, slackId: p.slackId, teamsId: p.teamsId };
}

export interface EligibleRoleView {
  roleId: string;
  roleKey: string;
  roleName: string;
  description: string;
  /** Scopes this user may activate at (each covered by an eligibility in force). */
  scopes: string[];
  eligibleUntil: Date | null;
  policy: Policy["activation"];
  /** Already active or pending, so a new request would be refused. */
  busy: boolean;
}

/** One role on the administrators' home tab: who holds it and how. */
export interface RoleAssignmentCounts {
  roleId: string;
  roleName: string;
  eligible: number;
  /** Active assignments with no end: standing access, what PIM exists to shrink. */
  permanentActive: number;
  timeBoundActive: number;
  /** Activations holding the role right now. */
  activeNow: number;
}
