import type { Logger } from "pino";
import { rolesNeedingStepUp } from "../app/activation/approver-step-up.js";
import { approversFor } from "../app/activation/approvers.js";
import { type EngineDeps, inTransaction, type Work } from "../app/kernel/unit-of-work.js";
import type { Env } from "../config/env.js";
import { decisionsFor, getActivation, listRequest } from "../db/repos/activations.js";
import { getAssignmentRequest } from "../db/repos/assignments.js";
import { principalById, rolesByIds } from "../db/repos/directory.js";
import type { HttpServer } from "../http/server.js";
import { inviteToEnroll, resetMfa } from "./admin.js";
import { DEFAULT_GUARD, type GuardSettings, linksInLastHour, standingOf } from "./lockout.js";
import { type OidcSettings, OidcStepUp } from "./oidc.js";
import { type MfaParts, mfaUrl } from "./parts.js";
import { mountMfaRoutes } from "./routes.js";
import { SecretBox } from "./secret-box.js";
import { issueToken, type TokenInput } from "./tokens.js";
import { TotpFactor } from "./totp.js";
import { PasskeyFactor } from "./webauthn.js";

export interface MfaOptions {
  deps: EngineDeps;
  publicUrl: string;
  linkTtlMs: number;
  /** PIM_ENCRYPTION_KEY (32 bytes, base64); without it TOTP is off. */
  encryptionKey?: string;
  oidc?: OidcSettings | null;
  log: Logger;
  guard?: GuardSettings;
  /** MFA_ENROLLMENT_DELAY and MFA_INVITATION_TTL. */
  enrollment?: { delayMs: number; invitationTtlMs: number };
}

export function enrollmentOf(env: Env): { delayMs: number; invitationTtlMs: number } {
  return { delayMs: env.MFA_ENROLLMENT_DELAY, invitationTtlMs: env.MFA_INVITATION_TTL };
}

export const DEFAULT_ENROLLMENT = { delayMs: 24 * 3_600_000, invitationTtlMs: 72 * 3_600_000 };

/**
 * MFA step-up as chat sees it: links to hand out. Everything else (the pages, the factors)
 * hangs off `mount`.
 */
export class MfaService {
  readonly parts: MfaParts;

  constructor(private readonly options: MfaOptions) {
    const publicUrl = new URL(options.publicUrl);
    const oidc = options.oidc ? new OidcStepUp(options.oidc, new URL(mfaUrl({ publicUrl }, "oidc", "callback"))) : null;
    this.parts = {
      deps: options.deps,
      publicUrl,
      linkTtlMs: options.linkTtlMs,
      totp: new TotpFactor(options.encryptionKey ? SecretBox.fromBase64(options.encryptionKey) : null),
      passkeys: PasskeyFactor.forPublicUrl(publicUrl),
      oidc,
      guard: options.guard ?? DEFAULT_GUARD,
      enrollment: options.enrollment ?? DEFAULT_ENROLLMENT,
    };
  }

  static fromEnv(env: Env, deps: EngineDeps, log: Logger): MfaService {
    const oidc =
      env.OIDC_ISSUER && env.OIDC_CLIENT_ID
        ? {
            issuer: env.OIDC_ISSUER,
            clientId: env.OIDC_CLIENT_ID,
            clientSecret: env.OIDC_CLIENT_SECRET ?? null,
            acrValues: env.OIDC_ACR_VALUES?.split(/[\s,]+/).filter(Boolean) ?? [],
          }
        : null;
    return new MfaService({
      deps,
      publicUrl: env.PUBLIC_URL,
      linkTtlMs: env.MFA_LINK_TTL,
      encryptionKey: env.PIM_ENCRYPTION_KEY,
      oidc,
      log,
      guard: {
        maxFailures: env.MFA_MAX_FAILURES,
        windowMs: env.MFA_FAILURE_WINDOW,
        lockoutMs: env.MFA_LOCKOUT,
        linksPerHour: env.MFA_LINKS_PER_HOUR,
      },
      enrollment: enrollmentOf(env),
    });
  }

  /** Mounts the pages and says once which methods this server offers. */
  mount(http: HttpServer): void {
    mountMfaRoutes(http, this.parts, this.options.log);
    const { log } = this.options;
    if (!this.parts.totp.enabled)
      log.warn("TOTP enrollment is disabled: PIM_ENCRYPTION_KEY is not set (openssl rand -base64 32)");
    if (!this.parts.oidc) log.info("OIDC step-up is off: OIDC_ISSUER and OIDC_CLIENT_ID are not both set");
    const url = new URL(this.parts.publicUrl);
    if (url.protocol !== "https:" && url.hostname !== "localhost")
      log.warn({ publicUrl: url.origin }, "PUBLIC_URL is not https: browsers refuse passkeys there");
  }

  /**
   * A fresh step-up link for a request waiting for MFA, for its requester only; null when the
   * activation is not theirs, does not wait for MFA, or is locked after too many failures.
   */
  async linkFor(requestId: string, activationId: string, principalId: string): Promise<string | null> {
    return inTransaction(this.parts.deps, async (work) => {
      const activation = await getActivation(work.tx, activationId);
      if (
        !activation ||
        activation.requestId !== requestId ||
        activation.principalId !== principalId ||
        activation.status !== "pending_mfa"
      )
        return null;
      return this.issue(work, { purpose: "activation", principalId, requestId, activationId });
    });
  }

  /**
   * The link an approver follows after `decide` answered STEP_UP_REQUIRED; the approval (with
   * its comment) is applied once they pass. Null when they cannot approve this request now.
   */
  async approvalLinkFor(requestId: string, approverId: string, comment?: string | null): Promise<string | null> {
    return inTransaction(this.parts.deps, async (work) => {
      const pending = (await listRequest(work.tx, requestId)).filter((r) => r.status === "pending_approval");
      if (pending.length === 0 || pending[0]!.principalId === approverId) return null;
      const roles = await rolesByIds(
        work.tx,
        pending.map((r) => r.roleId),
      );
      const guarded = rolesNeedingStepUp([...roles.values()]);
      if (guarded.length === 0) return null;
      let mayApprove = false;
      for (const role of guarded)
        mayApprove ||= (await approversFor(work.tx, role, pending[0]!.principalId, work.now)).has(approverId);
      const decided = (
        await decisionsFor(
          work.tx,
          pending.map((r) => r.id),
        )
      ).some((d) => d.approverId === approverId);
      if (!mayApprove || decided) return null;
      return this.issue(work, {
        purpose: "approval",
        principalId: approverId,
        requestId,
        comment: comment?.trim().slice(0, 2000) || null,
      });
    });
  }

  /**
   * The link an administrator follows when an active assignment they made waits for their
   * step-up (`requireMfaOnActive`); passing it puts the assignment in force. Null when the
   * assignment is not theirs or no longer waits.
   */
  async assignmentLinkFor(pendingId: string, adminId: string): Promise<string | null> {
    return inTransaction(this.parts.deps, async (work) => {
      const pending = await getAssignmentRequest(work.tx, pendingId);
      if (pending?.type !== "assign" || pending.status !== "pending" || pending.requestedBy !== adminId) return null;
      return this.issue(work, { purpose: "assignment", principalId: adminId, requestId: pendingId });
    });
  }

  /**
   * A one-time page to add, replace or remove an authenticator app or a passkey (`/elevate mfa
   * setup`). Someone with a factor proves it first; someone without proves themselves at the IdP
   * (or holds an administrator's invitation), else what they set up counts only after the delay.
   */
  async startEnrollment(principalId: string): Promise<string> {
    const link = await inTransaction(this.parts.deps, (work) => this.issue(work, { purpose: "enroll", principalId }));
    if (!link)
      throw Object.assign(new Error("no link: unknown user, locked out, or too many links in the last hour"), {
        code: "NOT_AVAILABLE",
      });
    return link;
  }

  /** An administrator's invitation: a link that sets up a factor counting at once (`pim mfa invite`). */
  invite(personKey: string, by: string) {
    return inviteToEnroll(this.parts, { personKey, by });
  }

  /** An administrator's reset: lifts a lockout, forgets failures and, with `factors`, removes every factor. */
  reset(personKey: string, by: string, factors = false) {
    return resetMfa(this.parts.deps, { personKey, by, factors });
  }

  private async issue(work: Work, input: TokenInput): Promise<string | null> {
    const person = await principalById(work.tx, input.principalId);
    if (person?.kind !== "user" || person.retiredAt) return null;
    const refused = (code: string) => {
      work.audit({
        event: "mfa.link_refused",
        actor: person.key,
        subject: person.key,
        requestId: input.requestId ?? null,
        activationId: input.activationId ?? null,
        data: { purpose: input.purpose, code },
      });
      return null;
    };
    if ((await standingOf(work.tx, person.id, work.now, this.parts.guard)).state === "locked") return refused("LOCKED");
    if ((await linksInLastHour(work.tx, person.id, work.now)) >= this.parts.guard.linksPerHour)
      return refused("RATE_LIMITED");
    const { raw } = await issueToken(work.tx, input, work.now, this.parts.linkTtlMs);
    work.audit({
      event: "mfa.link_created",
      actor: person.key,
      subject: person.key,
      requestId: input.requestId ?? null,
      activationId: input.activationId ?? null,
      data: { purpose: input.purpose, expiresInMs: this.parts.linkTtlMs },
    });
    return mfaUrl(this.parts, raw);
  }
}
