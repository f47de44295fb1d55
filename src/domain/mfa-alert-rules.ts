/**
 * MFA incidents as alert rules: each lockout and each change of a person's factors is an alert of
 * its own (one condition per occurrence), open through the incident window, so none is folded
 * into an earlier one.
 */
import { type AlertCondition, INCIDENT_WINDOW_MS, RULE_SEVERITY } from "./alert-rules.js";

export interface MfaLockoutFact {
  /** The lockout's own id, so each lockout is a condition of its own. */
  id: string;
  user: string;
  failures: number;
  until: Date;
  at: Date;
}

export interface FactorChangeFact {
  /** The audit event's id. */
  id: string;
  user: string;
  change: "added" | "replaced" | "removed";
  method: string;
  /** How the right to add it was proven (factor, invitation, oidc, delay). */
  via: string | null;
  usableAt: Date | null;
  by: string | null;
  at: Date;
}

const METHOD_NAMES: Record<string, string> = { totp: "an authenticator app", passkey: "a passkey" };

export function mfaLockouts(f: { now: Date; lockouts: MfaLockoutFact[] }): AlertCondition[] {
  return f.lockouts
    .filter((l) => recent(l.at, f.now))
    .map((l) => ({
      id: `mfa_locked:${l.user}:${l.id}`,
      rule: "mfa_locked",
      severity: RULE_SEVERITY.mfa_locked,
      title: "MFA locked after failed attempts",
      text: `${l.user}'s step-up was locked after ${l.failures} failed attempts. Someone may be guessing their codes; if it was them, \`pim mfa reset ${l.user}\` unlocks it.`,
      subject: l.user,
      fields: [
        { label: "User", value: l.user },
        { label: "Failures", value: String(l.failures) },
        { label: "Locked until", value: l.until.toISOString() },
      ],
    }));
}

export function mfaFactorChanges(f: { now: Date; changes: FactorChangeFact[] }): AlertCondition[] {
  return f.changes
    .filter((c) => recent(c.at, f.now))
    .map((c) => {
      const what = METHOD_NAMES[c.method] ?? c.method;
      const waits = c.via === "delay" && c.usableAt;
      const text =
        c.change === "removed"
          ? `${what[0]!.toUpperCase()}${what.slice(1)} of ${c.user} was removed${c.by && c.by !== c.user ? ` by ${c.by}` : ""}.`
          : `${c.user} ${c.change === "added" ? "added" : "replaced their factor with"} ${what}${waits ? `, set up without proof: it counts from ${c.usableAt!.toISOString()} unless removed` : ""}.`;
      return {
        id: `mfa_factor_changed:${c.user}:${c.id}`,
        rule: "mfa_factor_changed" as const,
        severity: RULE_SEVERITY.mfa_factor_changed,
        title: waits ? "First MFA factor set up without proof" : "MFA factor changed",
        text: `${text} If this was not them, remove it and reset their MFA.`,
        subject: c.user,
        fields: [
          { label: "User", value: c.user },
          { label: "Change", value: c.change },
          { label: "Method", value: c.method },
          ...(c.via ? [{ label: "Proven by", value: c.via }] : []),
          ...(c.usableAt ? [{ label: "Counts from", value: c.usableAt.toISOString() }] : []),
        ],
      };
    });
}

function recent(at: Date, now: Date): boolean {
  return at <= now && now.getTime() - at.getTime() < INCIDENT_WINDOW_MS;
}
