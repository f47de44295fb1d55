import { HOUR } from "../../src/domain/duration.js";
import type { RoleKey, TargetMode, UserKey } from "./world.js";

/**
 * A small model of the activation protocol: what each request and activation should be, written
 * from the policy's rules alone. Worker-driven steps (a grant confirmed, a revoke done) depend on
 * the outbox's timing; the model says which of them may happen, and learns when they did.
 */

export type Phase =
  | "pending_mfa"
  | "pending_approval"
  | "activating"
  | "active"
  | "ending"
  | "ended"
  | "denied"
  | "canceled"
  | "timed_out"
  | "failed";

export interface RoleRules {
  maxMs: number;
  mfa: readonly string[] | null;
  approvalsNeeded: number;
  timeoutMs: number;
}

export const RULES: Record<RoleKey, RoleRules> = {
  ops: { maxMs: 4 * HOUR, mfa: null, approvalsNeeded: 0, timeoutMs: 24 * HOUR },
  dba: { maxMs: 8 * HOUR, mfa: null, approvalsNeeded: 2, timeoutMs: 2 * HOUR },
  sec: { maxMs: 8 * HOUR, mfa: ["totp"], approvalsNeeded: 1, timeoutMs: 1 * HOUR },
  aud: { maxMs: 8 * HOUR, mfa: ["totp", "passkey"], approvalsNeeded: 0, timeoutMs: 3 * HOUR },
};

export const ELIGIBLE: Record<UserKey, readonly RoleKey[]> = {
  ann: ["ops", "dba", "sec", "aud"],
  ben: ["ops", "dba", "sec"],
  cat: ["dba"],
  dan: [],
  eve: [],
  root: [],
  zed: [],
};

const APPROVERS: readonly UserKey[] = ["cat", "dan", "eve"];
export const ADMINS: readonly UserKey[] = ["root"];

export interface ModelActivation {
  id: string;
  requestId: string;
  user: UserKey;
  role: RoleKey;
  phase: Phase;
  durationMs: number;
  mfaRequired: boolean;
  mfaDone: boolean;
  needed: number;
  approvals: Set<UserKey>;
  voters: Set<UserKey>;
  deadline: number | null;
  extendsId: string | null;
  endsAt: number | null;
  reason: string | null;
  /** The target misbehaved while this activation was being granted: its grant may fail for good. */
  troubled: boolean;
}

export interface Model {
  now: number;
  acts: ModelActivation[];
  requests: string[];
  alive: boolean[];
  target: TargetMode;
}

export function newModel(now: number, engines: number): Model {
  return { now, acts: [], requests: [], alive: Array(engines).fill(true), target: "up" };
}

export type Outcome = { ok: true } | { ok: false; code: string };
const refused = (code: string): Outcome => ({ ok: false, code });
const OK: Outcome = { ok: true };

export const isOpen = (p: Phase) =>
  p === "pending_mfa" || p === "pending_approval" || p === "activating" || p === "active";

export function rowsOf(m: Model, requestId: string): ModelActivation[] {
  return m.acts.filter((a) => a.requestId === requestId);
}

export function approversOf(requester: UserKey): Set<UserKey> {
  const named = new Set(APPROVERS.filter((u) => u !== requester));
  return named.size > 0 ? named : new Set(ADMINS.filter((u) => u !== requester));
}

/** The first refusal a request would meet, role by role in the order asked. */
export function predictRequest(
  m: Model,
  user: UserKey,
  wanted: RoleKey[],
  durationMs: number,
  extendsId: string | null = null,
): Outcome {
  for (const role of wanted) {
    const open = m.acts.find((a) => a.user === user && a.role === role && isOpen(a.phase) && a.id !== extendsId);
    if (open)
      return refused(open.phase === "active" || open.phase === "activating" ? "ALREADY_ACTIVE" : "ALREADY_PENDING");
    if (!ELIGIBLE[user].includes(role)) return refused("NOT_ELIGIBLE");
    if (durationMs > RULES[role].maxMs) return refused("DURATION_OVER_MAX");
  }
  return OK;
}

/** Records an accepted request: each role waits for MFA, then approval, then is granted. */
export function acceptRequest(
  m: Model,
  requestId: string,
  user: UserKey,
  created: { id: string; role: RoleKey }[],
  durationMs: number,
  extendsId: string | null,
): void {
  m.requests.push(requestId);
  for (const { id, role } of created) {
    const rules = RULES[role];
    const waits = rules.mfa !== null || rules.approvalsNeeded > 0;
    const a: ModelActivation = {
      id,
      requestId,
      user,
      role,
      phase: "activating",
      durationMs,
      mfaRequired: rules.mfa !== null,
      mfaDone: false,
      needed: rules.approvalsNeeded,
      approvals: new Set(),
      voters: new Set(),
      deadline: waits ? m.now + rules.timeoutMs : null,
      extendsId,
      endsAt: null,
      reason: null,
      troubled: false,
    };
    a.phase = nextStep(a);
    if (a.phase === "activating") a.troubled = m.target !== "up";
    m.acts.push(a);
  }
}

function nextStep(a: ModelActivation): Phase {
  if (a.mfaRequired && !a.mfaDone) return "pending_mfa";
  if (a.needed > a.approvals.size) return "pending_approval";
  return "activating";
}

function startGrant(m: Model, a: ModelActivation): void {
  a.phase = "activating";
  a.troubled = m.target !== "up";
}

export function applyMfa(m: Model, requestId: string, by: UserKey, method: string): Outcome {
  const rows = rowsOf(m, requestId);
  if (rows[0]!.user !== by) return refused("NOT_YOURS");
  const waiting = rows.filter((r) => r.phase === "pending_mfa");
  if (waiting.length === 0) return refused("WRONG_STATE");
  if (waiting.some((r) => !RULES[r.role].mfa!.includes(method))) return refused("NOT_ALLOWED");
  for (const r of waiting) {
    r.mfaDone = true;
    const next = nextStep(r);
    if (next === "activating") startGrant(m, r);
    else r.phase = next;
  }
  return OK;
}

export function applyDecision(m: Model, requestId: string, by: UserKey, decision: "approve" | "deny"): Outcome {
  const rows = rowsOf(m, requestId);
  if (rows.every((r) => r.phase === "pending_mfa")) return refused("WRONG_STATE");
  const pending = rows.filter((r) => r.phase === "pending_approval");
  if (pending.length === 0) return refused("ALREADY_DECIDED");
  if (pending.some((r) => r.deadline !== null && r.deadline <= m.now)) {
    timeOut(m, rows);
    return refused("APPROVAL_TIMED_OUT");
  }
  const requester = rows[0]!.user;
  let first: string | undefined;
  const mine = pending.filter((r) => {
    const code =
      by === requester
        ? "SELF_APPROVAL"
        : !approversOf(requester).has(by)
          ? "NOT_AN_APPROVER"
          : r.voters.has(by)
            ? "ALREADY_VOTED"
            : undefined;
    first ??= code;
    return code === undefined;
  });
  if (mine.length === 0) return refused(first ?? "NOT_AN_APPROVER");
  for (const r of mine) r.voters.add(by);
  if (decision === "deny") {
    for (const r of pending) close(r, "denied");
    return OK;
  }
  for (const r of mine) {
    r.approvals.add(by);
    if (r.approvals.size >= r.needed) startGrant(m, r);
  }
  return OK;
}

export function applyCancel(m: Model, requestId: string, by: UserKey): Outcome {
  const rows = rowsOf(m, requestId);
  if (rows[0]!.user !== by) return refused("NOT_YOURS");
  const waiting = rows.filter((r) => r.phase === "pending_mfa" || r.phase === "pending_approval");
  if (waiting.length === 0) return refused("WRONG_STATE");
  for (const r of waiting) close(r, "canceled");
  return OK;
}

/** An early end by the holder, or a revoke by an administrator. */
export function applyEnd(m: Model, a: ModelActivation, by: UserKey, kind: "deactivated" | "revoked"): Outcome {
  if (kind === "deactivated" && a.user !== by) return refused("NOT_YOURS");
  if (kind === "revoked" && !ADMINS.includes(by)) return refused("NOT_ADMINISTRATOR");
  if (kind === "revoked" && a.user === by) return refused("SELF_ASSIGNMENT");
  if (a.phase !== "active" && a.phase !== "activating") return refused("WRONG_STATE");
  beginEnd(a, kind, m.now);
  return OK;
}

export function predictExtend(m: Model, a: ModelActivation, by: UserKey, durationMs: number): Outcome {
  if (a.user !== by) return refused("NOT_YOURS");
  if (a.phase !== "active") return refused("WRONG_STATE");
  return predictRequest(m, by, [a.role], durationMs, a.id);
}

/** The sweep: activations whose time is up start ending; requests past their deadline time out. */
export function applySweep(m: Model): ModelActivation[] {
  const expired = m.acts.filter((a) => a.phase === "active" && a.endsAt! <= m.now);
  for (const a of expired) beginEnd(a, "expired", m.now);
  timeOut(m, m.acts);
  return expired;
}

function timeOut(m: Model, rows: ModelActivation[]): void {
  for (const r of rows)
    if ((r.phase === "pending_mfa" || r.phase === "pending_approval") && r.deadline !== null && r.deadline <= m.now)
      close(r, "timed_out");
}

function close(a: ModelActivation, phase: "denied" | "canceled" | "timed_out"): void {
  a.phase = phase;
  a.reason = phase;
}

function beginEnd(a: ModelActivation, reason: string, now: number): void {
  if (a.phase === "activating") a.endsAt = now;
  a.phase = "ending";
  a.reason = reason;
}

/** The target starts misbehaving: every grant in flight may now fail for good. */
export function setTarget(m: Model, mode: TargetMode): void {
  m.target = mode;
  if (mode !== "up") for (const a of m.acts) if (a.phase === "activating") a.troubled = true;
}
