import { generateSecret, generateURI, verify } from "otplib";
import { newId } from "../app/kernel/ids.js";
import type { Executor } from "../db/client.js";
import {
  advanceTotpTimeStep,
  confirmTotpSecret,
  deleteConfirmedTotpSecret,
  hasUsableTotpSecret,
  insertTotpSecret,
  lockUsableTotpSecret,
  type TotpSecretRow,
  totpSecretOfferedOn,
} from "../db/repos/totp-secrets.js";
import type { SecretBox } from "./secret-box.js";

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 seconds. */
export const TOTP_PERIOD_S = 30;
/** One step either side, for phones whose clocks drift a little. */
const TOLERANCE_S = TOTP_PERIOD_S;
const ISSUER = "pim-bot";

export type TotpCheck =
  | { ok: true; timeStep: number }
  | { ok: false; reason: "malformed" | "wrong" | "replayed" | "not_enrolled" };

export interface TotpEnrollment {
  secret: string;
  uri: string;
}

/**
 * Built-in TOTP. Secrets are sealed with the server's key; with no key the factor is off and
 * says so, rather than storing secrets in the clear.
 */
export class TotpFactor {
  constructor(private readonly box: SecretBox | null) {}

  get enabled(): boolean {
    return this.box !== null;
  }

  /**
   * Whether the person has an authenticator app that counts now (a first one set up without proof
   * counts only after the enrollment delay). Also true when the key is gone.
   */
  async isEnrolled(db: Executor, principalId: string, now: Date): Promise<boolean> {
    return hasUsableTotpSecret(db, principalId, now);
  }

  /** The secret offered on an enrollment page; the same one on every reload of that page. */
  async pendingEnrollment(
    tx: Executor,
    tokenId: string,
    who: { id: string; label: string },
    now: Date,
  ): Promise<TotpEnrollment> {
    const box = this.requireBox();
    const row = await totpSecretOfferedOn(tx, tokenId);
    const secret = row ? box.open(row.secret, who.id) : generateSecret();
    if (!row) {
      await insertTotpSecret(tx, {
        id: newId("mfa"),
        principalId: who.id,
        secret: box.seal(secret, who.id),
        pendingTokenId: tokenId,
        createdAt: now,
      });
    }
    return { secret, uri: generateURI({ issuer: ISSUER, label: who.label, secret }) };
  }

  /**
   * The first code from a new authenticator: right, and the secret becomes the person's TOTP,
   * usable from `usable.at`, replacing any earlier one (`replaced` says whether there was one).
   */
  async confirmEnrollment(
    tx: Executor,
    tokenId: string,
    principalId: string,
    code: string,
    now: Date,
    usable: { at: Date; via: string },
  ): Promise<TotpCheck & { replaced?: boolean }> {
    const row = await totpSecretOfferedOn(tx, tokenId, true);
    if (!row) return { ok: false, reason: "not_enrolled" } as const;
    const check = await this.check(row, code, now);
    if (!check.ok) return check;
    const replaced = await deleteConfirmedTotpSecret(tx, principalId);
    await confirmTotpSecret(tx, row.id, {
      confirmedAt: now,
      lastTimeStep: check.timeStep,
      usableAt: usable.at,
      enrolledVia: usable.via,
    });
    return { ...check, replaced };
  }

  /** A code from the enrolled authenticator; each code (time step) works once. */
  async verifyCode(tx: Executor, principalId: string, code: string, now: Date): Promise<TotpCheck> {
    if (!this.box) return { ok: false, reason: "not_enrolled" };
    const row = await lockUsableTotpSecret(tx, principalId, now);
    if (!row) return { ok: false, reason: "not_enrolled" };
    const check = await this.check(row, code, now);
    if (!check.ok) return check;
    // Conditional, so two posts of one code in the same instant cannot both pass.
    return (await advanceTotpTimeStep(tx, row.id, check.timeStep)) ? check : { ok: false, reason: "replayed" };
  }

  private async check(row: TotpSecretRow, code: string, now: Date): Promise<TotpCheck> {
    const digits = code.replace(/\s+/g, "");
    if (!/^\d{6}$/.test(digits)) return { ok: false, reason: "malformed" };
    const secret = this.requireBox().open(row.secret, row.principalId);
    const result = await verify({
      secret,
      token: digits,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: TOLERANCE_S,
    });
    // The functional API types HOTP and TOTP results together; a TOTP pass carries its time step.
    if (!result.valid || !("timeStep" in result)) return { ok: false, reason: "wrong" };
    if (row.lastTimeStep !== null && result.timeStep <= row.lastTimeStep) return { ok: false, reason: "replayed" };
    return { ok: true, timeStep: result.timeStep };
  }

  private requireBox(): SecretBox {
    if (!this.box)
      throw Object.assign(new Error("TOTP is disabled: PIM_ENCRYPTION_KEY is not set"), { code: "TOTP_OFF" });
    return this.box;
  }
}
