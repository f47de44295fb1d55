/**
 * Security alerts as pure rules: each takes a snapshot of facts and returns the conditions that
 * hold now. A condition's id is stable (`stale_eligible:bob:db-admin`), so evaluating twice finds
 * the same condition rather than a new one, and a condition that is no longer returned has cleared.
 */
import { DAY, formatDuration, HOUR } from "./duration.js";

export type Severity = "low" | "medium" | "high";

export type AlertRule =
  | "too_many_global_admins"
  | "role_without_mfa"
  | "stale_eligible"
  | "frequent_activations"
  | "assigned_outside_pim"
  | "break_glass_used"
  | "unauthorized_approval"
  | "mfa_failures"
  | "mfa_locked"
  | "mfa_factor_changed"
  | "grant_failed"
  | "revoke_failing"
  | "target_failing";

/**
 * Severities follow Entra PIM's table (REFERENCE.md): its "administrators aren't using their
 * privileged roles" (days without activation) is our stale eligibility, hence low.
 */
export const RULE_SEVERITY: Record<AlertRule, Severity> = {
  too_many_global_admins: "low",
  role_without_mfa: "low",
  stale_eligible: "low",
  frequent_activations: "low",
  assigned_outside_pim: "high",
  break_glass_used: "high",
  unauthorized_approval: "high",
  mfa_failures: "medium",
  mfa_locked: "medium",
  mfa_factor_changed: "medium",
  grant_failed: "high",
  revoke_failing: "high",
  target_failing: "high",
};

export interface AlertThresholds {
  tooManyGlobalAdmins: { count: number; percent: number };
  staleEligibleDays: number;
  frequentActivations: { count: number; windowMs: number };
  mfaFailures: { count: number; windowMs: number };
}

/** The defaults pim.yaml documents under `alerts:`. */
export const DEFAULT_THRESHOLDS: AlertThresholds = {
  tooManyGlobalAdmins: { count: 5, percent: 30 },
  staleEligibleDays: 90,
  frequentActivations: { count: 5, windowMs: DAY },
  mfaFailures: { count: 5, windowMs: HOUR },
};

/**
 * Incidents (a break-glass use, a refused approval, a failed grant) stay alerted this long after
 * the last occurrence, so the channel shows them until someone has had a chance to look.
 */
export const INCIDENT_WINDOW_MS = DAY;

export interface AlertField {
  label: string;
  value: string;
}

export interface AlertCondition {
  /** Stable across evaluations: one open alert per id. */
  id: string;
  rule: AlertRule;
  severity: Severity;
  title: string;
  /** One or two plain sentences. */
  text: string;
  /** The principal or role the condition is about, for filtering. */
  subject: string | null;
  fields: AlertField[];
  /** Where it was observed, when only that source can say it cleared (a connector's type). */
  source?: string;
  /**
   * For incidents: each occurrence inside the rule's window, keyed by what it was (an activation,
   * an audit event), so that one occurring after the alert opened is told apart from those counted.
   */
  occurrences?: Occurrence[];
}

export interface Occurrence {
  key: string;
  at: Date;
}

/** The rules whose conditions are incidents: every occurrence is told, not only the first. */
export const INCIDENT_RULES: ReadonlySet<AlertRule> = new Set([
  "break_glass_used",
  "unauthorized_approval",
  "mfa_failures",
  "grant_failed",
]);

/**
 * What an incident alert that stays unresolved learns from a new evaluation: the occurrences not
 * counted yet. Null when there are none, so nothing is redrawn.
 */
export function newOccurrences(condition: AlertCondition, counted: readonly string[] | null): Occurrence[] | null {
  if (!condition.occurrences || counted === null) return null;
  const known = new Set(counted);
  const fresh = condition.occurrences.filter((o) => !known.has(o.key));
  return fresh.length > 0 ? fresh : null;
}

/** An incident's fields with how often it happened and when last, as its card shows them. */
export function incidentFields(fields: AlertField[], occurrences: number, lastAt: Date): AlertField[] {
  return [
    ...fields.filter((f) => f.label !== OCCURRENCES && f.label !== LAST_OCCURRENCE),
    { label: OCCURRENCES, value: String(occurrences) },
    { label: LAST_OCCURRENCE, value: lastAt.toISOString() },
  ];
}

const OCCURRENCES = "Occurrences";
const LAST_OCCURRENCE = "Last occurrence";

/** The latest of some occurrences. */
export function lastOccurrence(occurrences: Occurrence[]): Date {
  return occurrences.reduce((a, b) => (b.at > a ? b.at : a), occurrences[0]!.at);
}

// ── facts ──────────────────────────────────────────────────────────────────────────────────

export interface UserFact {
  key: string;
  name: string;
  breakGlass: boolean;
}

export interface RoleFact {
  key: string;
  name: string;
  critical: boolean;
  requireMfa: boolean;
}

/** A user holds a role (eligible or active, in force), directly or through a group. */
export interface HoldingFact {
  user: string;
  role: string;
  kind: "eligible" | "active";
  /** When the user first held it this way (the assignment's start, or when it was made). */
  since: Date;
}

export interface LastActivationFact {
  user: string;
  role: string;
  at: Date;
}

export interface ActivationCountFact {
  user: string;
  role: string;
  count: number;
}

export interface BreakGlassUseFact {
  /** The activation the account made. */
  id: string;
  user: string;
  role: string;
  scope: string;
  at: Date;
  /** The break-glass activation still holds the role. */
  holding: boolean;
}

export interface RefusedApprovalFact {
  /** The audit event that recorded the refusal. */
  id: string;
  approver: string;
  requester: string | null;
  requestId: string | null;
  code: string;
  at: Date;
}

export interface FailedGrantFact {
  /** The audit event that recorded the failure. */
  id: string;
  subject: string;
  role: string;
  scope: string;
  at: Date;
  error: string;
}

export interface FailingRevokeFact {
  subject: string;
  role: string;
  scope: string;
  attempts: number;
  error: string | null;
}

export interface DownTargetFact {
  target: string;
  failingSince: Date;
  lastError: string | null;
}

export interface UnexpectedHoldingFact {
  connector: string;
  login: string;
  role: string;
  scope: string;
}

// ── the rules ──────────────────────────────────────────────────────────────────────────────

const rule = (r: AlertRule, id: string, c: Omit<AlertCondition, "rule" | "severity" | "id">): AlertCondition => ({
  id,
  rule: r,
  severity: RULE_SEVERITY[r],
  ...c,
});

/**
 * More users hold a critical role than the thresholds allow: both the count and the share of all
 * privileged users (anyone holding any role) must be exceeded, as in Entra. Break-glass accounts
 * are not counted: they hold critical roles by design.
 */
export function tooManyGlobalAdmins(f: {
  thresholds: AlertThresholds;
  users: UserFact[];
  roles: RoleFact[];
  holdings: HoldingFact[];
}): AlertCondition[] {
  const breakGlass = new Set(f.users.filter((u) => u.breakGlass).map((u) => u.key));
  const critical = new Set(f.roles.filter((r) => r.critical).map((r) => r.key));
  const counted = f.holdings.filter((h) => !breakGlass.has(h.user));
  const privileged = new Set(counted.map((h) => h.user));
  const admins = [...new Set(counted.filter((h) => critical.has(h.role)).map((h) => h.user))].sort();
  if (privileged.size === 0) return [];
  const percent = (admins.length / privileged.size) * 100;
  const { count, percent: maxPercent } = f.thresholds.tooManyGlobalAdmins;
  if (admins.length <= count || percent <= maxPercent) return [];
  const names = new Map(f.users.map((u) => [u.key, u.name]));
  const shown = admins.slice(0, 10).map((k) => names.get(k) ?? k);
  return [
    rule("too_many_global_admins", "too_many_global_admins", {
      title: "Too many global administrators",
      text: `${admins.length} people hold a critical role, ${round(percent)}% of the ${privileged.size} people with any privileged role (limits: more than ${count} and more than ${maxPercent}%).`,
      subject: null,
      fields: [
        { label: "Holders of critical roles", value: String(admins.length) },
        { label: "Share of privileged users", value: `${round(percent)}%` },
        {
          label: "Who",
          value: shown.join(", ") + (admins.length > shown.length ? ` and ${admins.length - shown.length} more` : ""),
        },
      ],
    }),
  ];
}

/** Every role whose activation does not require MFA. */
export function rolesWithoutMfa(f: { roles: RoleFact[] }): AlertCondition[] {
  return f.roles
    .filter((r) => !r.requireMfa)
    .map((r) =>
      rule("role_without_mfa", `role_without_mfa:${r.key}`, {
        title: "Role does not require MFA",
        text: `${r.name} can be activated without multi-factor authentication.`,
        subject: r.key,
        fields: [{ label: "Role", value: `${r.name} (${r.key})` }],
      }),
    );
}

/**
 * Eligible for a role for at least N days and not activated it in the last N days: the
 * eligibility is probably not needed. Break-glass accounts are exempt.
 */
export function staleEligibility(f: {
  now: Date;
  thresholds: AlertThresholds;
  users: UserFact[];
  roles: RoleFact[];
  holdings: HoldingFact[];
  lastActivations: LastActivationFact[];
}): AlertCondition[] {
  const days = f.thresholds.staleEligibleDays;
  const cutoff = f.now.getTime() - days * DAY;
  const breakGlass = new Set(f.users.filter((u) => u.breakGlass).map((u) => u.key));
  const last = new Map(f.lastActivations.map((a) => [pair(a.user, a.role), a.at]));
  const since = new Map<string, Date>();
  for (const h of f.holdings) {
    if (h.kind !== "eligible" || breakGlass.has(h.user)) continue;
    const key = pair(h.user, h.role);
    const earlier = since.get(key);
    if (!earlier || h.since < earlier) since.set(key, h.since);
  }
  const names = new Map(f.users.map((u) => [u.key, u.name]));
  const roleNames = new Map(f.roles.map((r) => [r.key, r.name]));
  const out: AlertCondition[] = [];
  for (const [key, from] of since) {
    if (from.getTime() > cutoff) continue;
    const lastAt = last.get(key);
    if (lastAt && lastAt.getTime() > cutoff) continue;
    const [user, role] = key.split("\u0000") as [string, string];
    out.push(
      rule("stale_eligible", `stale_eligible:${user}:${role}`, {
        title: "Eligible role not used",
        text: `${names.get(user) ?? user} has been eligible for ${roleNames.get(role) ?? role} without activating it in ${days} days.`,
        subject: user,
        fields: [
          { label: "User", value: names.get(user) ?? user },
          { label: "Role", value: roleNames.get(role) ?? role },
          { label: "Last activation", value: lastAt ? lastAt.toISOString() : "never" },
        ],
      }),
    );
  }
  return out.sort(byId);
}

/** More than N activations of one role by one person within the window. */
export function frequentActivations(f: {
  thresholds: AlertThresholds;
  users: UserFact[];
  roles: RoleFact[];
  recentActivations: ActivationCountFact[];
}): AlertCondition[] {
  const { count, windowMs } = f.thresholds.frequentActivations;
  const names = new Map(f.users.map((u) => [u.key, u.name]));
  const roleNames = new Map(f.roles.map((r) => [r.key, r.name]));
  return f.recentActivations
    .filter((a) => a.count > count)
    .map((a) =>
      rule("frequent_activations", `frequent_activations:${a.user}:${a.role}`, {
        title: "Role activated too often",
        text: `${names.get(a.user) ?? a.user} activated ${roleNames.get(a.role) ?? a.role} ${a.count} times in ${formatDuration(windowMs)} (limit ${count}); consider whether they need it eligible at all, or differently.`,
        subject: a.user,
        fields: [
          { label: "User", value: names.get(a.user) ?? a.user },
          { label: "Role", value: roleNames.get(a.role) ?? a.role },
          { label: "Activations", value: `${a.count} in ${formatDuration(windowMs)}` },
        ],
      }),
    )
    .sort(byId);
}

/** Holdings found on a target that PIM did not grant (from the connectors' drift detection). */
export function assignedOutsidePim(f: { unexpected: UnexpectedHoldingFact[] }): AlertCondition[] {
  const seen = new Map<string, AlertCondition>();
  for (const h of f.unexpected) {
    const id = outsidePimId(h);
    if (seen.has(id)) continue;
    seen.set(
      id,
      rule("assigned_outside_pim", id, {
        title: "Role assigned outside PIM",
        text: `${h.login} holds ${h.role} at ${h.scope} on the ${h.connector} target, but PIM never granted it.`,
        subject: h.login,
        source: h.connector,
        fields: [
          { label: "Login", value: h.login },
          { label: "Role on the target", value: h.role },
          { label: "Scope", value: h.scope },
          { label: "Connector", value: h.connector },
        ],
      }),
    );
  }
  return [...seen.values()].sort(byId);
}

export const outsidePimId = (h: Pick<UnexpectedHoldingFact, "login" | "role" | "scope">) =>
  `assigned_outside_pim:${h.login}:${h.role}:${h.scope}`;

/** A break-glass account was used in the incident window, or still holds what it took. */
export function breakGlassUsed(f: { now: Date; uses: BreakGlassUseFact[] }): AlertCondition[] {
  const byUser = groupBy(
    f.uses.filter((u) => u.holding || recent(u.at, f.now)),
    (u) => u.user,
  );
  return [...byUser].map(([user, uses]) => {
    const last = latest(uses);
    const roles = [...new Set(uses.map((u) => `${u.role} at ${u.scope}`))];
    return rule("break_glass_used", `break_glass_used:${user}`, {
      title: "Break-glass account used",
      text: `The emergency account ${user} activated ${roles.join(", ")}. Check who used it and why.`,
      subject: user,
      fields: [
        { label: "Account", value: user },
        { label: "Roles", value: roles.join(", ") },
        { label: "Last use", value: last.at.toISOString() },
        { label: "Still holding", value: uses.some((u) => u.holding) ? "yes" : "no" },
      ],
      occurrences: occurrencesOf(uses),
    });
  });
}

/** Someone tried to approve a request they may not decide (not an approver, or their own). */
export function unauthorizedApprovals(f: { now: Date; refused: RefusedApprovalFact[] }): AlertCondition[] {
  const byApprover = groupBy(
    f.refused.filter((r) => recent(r.at, f.now)),
    (r) => r.approver,
  );
  return [...byApprover].map(([approver, attempts]) => {
    const last = latest(attempts);
    return rule("unauthorized_approval", `unauthorized_approval:${approver}`, {
      title: "Unauthorized approval attempt",
      text: `${approver} tried to decide ${attempts.length === 1 ? "a request" : `${attempts.length} requests`} they may not decide (${describeRefusal(last.code)}).`,
      subject: approver,
      fields: [
        { label: "Who", value: approver },
        { label: "Attempts", value: String(attempts.length) },
        ...(last.requester ? [{ label: "Requester", value: last.requester }] : []),
        ...(last.requestId ? [{ label: "Request", value: last.requestId }] : []),
      ],
      occurrences: occurrencesOf(attempts),
    });
  });
}

/** At least N failed MFA attempts by one person within the window. */
export function mfaFailures(f: {
  now: Date;
  thresholds: AlertThresholds;
  failures: { id: string; user: string; at: Date }[];
}): AlertCondition[] {
  const { count, windowMs } = f.thresholds.mfaFailures;
  const from = f.now.getTime() - windowMs;
  const byUser = groupBy(
    f.failures.filter((x) => x.at.getTime() > from && x.at <= f.now),
    (x) => x.user,
  );
  return [...byUser]
    .filter(([, xs]) => xs.length >= count)
    .map(([user, xs]) =>
      rule("mfa_failures", `mfa_failures:${user}`, {
        title: "Repeated MFA failures",
        text: `${user} failed the MFA step-up ${xs.length} times in ${formatDuration(windowMs)}. Someone may be trying their account.`,
        subject: user,
        fields: [
          { label: "User", value: user },
          { label: "Failures", value: `${xs.length} in ${formatDuration(windowMs)}` },
        ],
        occurrences: occurrencesOf(xs),
      }),
    );
}

/** A grant given up on within the incident window. */
export function grantsFailed(f: { now: Date; failed: FailedGrantFact[] }): AlertCondition[] {
  const byHolding = groupBy(
    f.failed.filter((x) => recent(x.at, f.now)),
    (x) => `${x.subject}:${x.role}:${x.scope}`,
  );
  return [...byHolding].map(([key, xs]) => {
    const last = latest(xs);
    return rule("grant_failed", `grant_failed:${key}`, {
      title: "A grant failed",
      text: `Granting ${last.role} at ${last.scope} to ${last.subject} failed: ${last.error}`,
      subject: last.subject,
      fields: [
        { label: "Who", value: last.subject },
        { label: "Role", value: last.role },
        { label: "Scope", value: last.scope },
        { label: "Error", value: last.error },
      ],
      occurrences: occurrencesOf(xs),
    });
  });
}

/** A revoke still failing after several attempts: someone keeps access PIM took away. */
export function revokesFailing(f: { failing: FailingRevokeFact[] }): AlertCondition[] {
  const byHolding = groupBy(f.failing, (x) => `${x.subject}:${x.role}:${x.scope}`);
  return [...byHolding].map(([key, xs]) => {
    const worst = xs.reduce((a, b) => (b.attempts > a.attempts ? b : a));
    return rule("revoke_failing", `revoke_failing:${key}`, {
      title: "A revoke keeps failing",
      text: `${worst.subject} still holds ${worst.role} at ${worst.scope}: the revoke failed ${worst.attempts} times and is being retried.`,
      subject: worst.subject,
      fields: [
        { label: "Who", value: worst.subject },
        { label: "Role", value: worst.role },
        { label: "Scope", value: worst.scope },
        { label: "Attempts", value: String(worst.attempts) },
        ...(worst.error ? [{ label: "Last error", value: worst.error }] : []),
      ],
    });
  });
}

/**
 * A connector target failing for longer than its alert threshold: grants wait and revokes do not
 * happen until it answers. Clears on the first call it answers.
 */
export function targetsFailing(f: { now: Date; down: DownTargetFact[] }): AlertCondition[] {
  return f.down.map((d) => {
    const since = formatDuration(Math.max(0, f.now.getTime() - d.failingSince.getTime()));
    return rule("target_failing", `target_failing:${d.target}`, {
      title: "A connector target is not answering",
      text: `Calls to ${d.target} have been failing for ${since}: grants to it wait and revokes are retried until it answers.`,
      subject: null,
      fields: [
        { label: "Target", value: d.target },
        { label: "Failing since", value: d.failingSince.toISOString() },
        ...(d.lastError ? [{ label: "Last error", value: d.lastError }] : []),
      ],
    });
  });
}

function describeRefusal(code: string): string {
  if (code === "SELF_APPROVAL") return "their own request";
  if (code === "NOT_AN_APPROVER") return "not an approver";
  return code.toLowerCase().replace(/_/g, " ");
}

function occurrencesOf(xs: { id: string; at: Date }[]): Occurrence[] {
  return xs.map((x) => ({ key: x.id, at: x.at }));
}

function recent(at: Date, now: Date): boolean {
  return at <= now && now.getTime() - at.getTime() < INCIDENT_WINDOW_MS;
}

function latest<T extends { at: Date }>(xs: T[]): T {
  return xs.reduce((a, b) => (b.at > a.at ? b : a));
}

function groupBy<T>(xs: T[], keyOf: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const key = keyOf(x);
    const list = out.get(key);
    if (list) list.push(x);
    else out.set(key, [x]);
  }
  return out;
}

const pair = (user: string, role: string) => `${user}\u0000${role}`;
const byId = (a: AlertCondition, b: AlertCondition) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const round = (n: number) => Math.round(n * 10) / 10;
