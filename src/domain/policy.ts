import { DAY, HOUR } from "./duration.js";

export type MfaMethod = "totp" | "passkey" | "oidc";
export type ApprovalRouting = "dm" | "channel";
/** Who hears of an event: named audiences, or a principal as `user:<key>` / `group:<key>`. */
export type Recipient = "admins" | "requester" | "approvers" | "alert_channel" | `user:${string}` | `group:${string}`;

export interface ActivationSettings {
  maxDurationMs: number;
  requireMfa: boolean;
  mfaMethods: MfaMethod[];
  requireJustification: boolean;
  requireTicket: boolean;
  /** Regular expression source a ticket must match in full, or null for any text. */
  ticketPattern: string | null;
  /** How a wrong ticket is described to people, e.g. "INC-123456". */
  ticketExample: string | null;
  requireApproval: boolean;
  /** Principal keys (users or groups) allowed to decide. */
  approvers: string[];
  approvalsNeeded: number;
  approvalTimeoutMs: number;
  approvalRouting: ApprovalRouting;
  /** Channel per platform used when routing is "channel". */
  approvalChannel: { slack?: string; teams?: string } | null;
  approverStepUp: boolean;
  /** Approve counts only with a comment (Deny always needs one). */
  requireApprovalComment: boolean;
  allowEarlyDeactivation: boolean;
  /**
   * The requester may activate at a scope below the one they are eligible at (a resource group
   * under a subscription). Off unless the role's connector grants at such scopes: otherwise the
   * audit log would name a narrower scope than the target really gave.
   */
  allowChildScope: boolean;
}

export interface AssignmentSettings {
  allowPermanentEligible: boolean;
  maxEligibleDurationMs: number;
  allowPermanentActive: boolean;
  maxActiveDurationMs: number;
  requireMfaOnActive: boolean;
  requireJustificationOnActive: boolean;
}

export interface NotificationSettings {
  activation: Recipient[];
  assignment: Recipient[];
  approval: Recipient[];
  criticalOnly: boolean;
}

export interface Policy {
  activation: ActivationSettings;
  assignment: AssignmentSettings;
  notifications: NotificationSettings;
}

/** A policy as written in a file: any field may be left out and is then inherited. */
export type PolicyOverride = {
  [K in keyof Policy]?: Partial<Policy[K]>;
};

export const MAX_ACTIVATION_MS = 24 * HOUR;

export const BUILT_IN_POLICY: Policy = {
  activation: {
    maxDurationMs: 8 * HOUR,
    requireMfa: true,
    mfaMethods: ["totp", "passkey", "oidc"],
    requireJustification: true,
    requireTicket: false,
    ticketPattern: null,
    ticketExample: null,
    requireApproval: false,
    approvers: [],
    approvalsNeeded: 1,
    approvalTimeoutMs: 24 * HOUR,
    approvalRouting: "dm",
    approvalChannel: null,
    approverStepUp: false,
    requireApprovalComment: false,
    allowEarlyDeactivation: true,
    allowChildScope: false,
  },
  assignment: {
    allowPermanentEligible: true,
    maxEligibleDurationMs: 365 * DAY,
    allowPermanentActive: false,
    maxActiveDurationMs: 180 * DAY,
    requireMfaOnActive: true,
    requireJustificationOnActive: true,
  },
  notifications: {
    activation: ["admins", "alert_channel"],
    assignment: ["admins"],
    approval: ["requester", "approvers"],
    criticalOnly: false,
  },
};

/** Layers overrides on a base policy: later layers win, field by field. */
export function resolvePolicy(base: Policy, ...layers: (PolicyOverride | undefined)[]): Policy {
  let policy = base;
  for (const layer of layers) {
    if (!layer) continue;
    policy = {
      activation: { ...policy.activation, ...defined(layer.activation) },
      assignment: { ...policy.assignment, ...defined(layer.assignment) },
      notifications: { ...policy.notifications, ...defined(layer.notifications) },
    };
  }
  return policy;
}

function defined<T extends object>(partial: T | undefined): Partial<T> {
  if (!partial) return {};
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}
