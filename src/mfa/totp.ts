import { and, eq, isNotNull, isNull, lt, lte, or } from "drizzle-orm";
import { generateSecret, generateURI, verify } from "otplib";
import { newId } from "../app/ids.js";
import type { Executor } from "../db/client.js";
import { mfaTotpSecrets } from "../db/schema/mfa.js";
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
    const [row] = await db.select({ id: mfaTotpSecrets.id }).from(mfaTotpSecrets).where(usableSecret(principalId, now));
    return row !== undefined;
  }

  /** The secret offered on an enrollment page; the same one on every reload of that page. */
  async pendingEnrollment(
    tx: Executor,
    tokenId: string,
    who: { id: string; label: string },
    now: Date,
  ): Promise<TotpEnrollment> {
    const box = this.requireBox();
    const [row] = await tx.select().from(mfaTotpSecrets).where(eq(mfaTotpSecrets.pendingTokenId, tokenId));
    const secret = row ? box.open(row.secret, who.id) : generateSecret();
    if (!row) {
      await tx.insert(mfaTotpSecrets).values({
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
    const [row] = await tx
      .select()
      .from(mfaTotpSecrets)
      .where(eq(mfaTotpSecrets.pendingTokenId, tokenId))
      .for("update");
    if (!row) return { ok: false, reason: "not_enrolled" } as const;
    const check = await this.check(row, code, now);
    if (!check.ok) return check;
    const replaced = await tx
      .delete(mfaTotpSecrets)
      .where(and(eq(mfaTotpSecrets.principalId, principalId), isNotNull(mfaTotpSecrets.confirmedAt)))
      .returning({ id: mfaTotpSecrets.id });
    await tx
      .update(mfaTotpSecrets)
      .set({
        confirmedAt: now,
        pendingTokenId: null,
        lastTimeStep: check.timeStep,
        usableAt: usable.at,
        enrolledVia: usable.via,
      })
      .where(eq(mfaTotpSecrets.id, row.id));
    return { ...check, replaced: replaced.length > 0 };
  }

  /** A code from the enrolled authenticator; each code (time step) works once. */
  async verifyCode(tx: Executor, principalId: string, code: string, now: Date): Promise<TotpCheck> {
    if (!this.box) return { ok: false, reason: "not_enrolled" };
    const [row] = await tx.select().from(mfaTotpSecrets).where(usableSecret(principalId, now)).for("update");
    if (!row) return { ok: false, reason: "not_enrolled" };
    const check = await this.check(row, code, now);
    if (!check.ok) return check;
    // Conditional, so two posts of one code in the same instant cannot both pass.
    const moved = await tx
      .update(mfaTotpSecrets)
      .set({ lastTimeStep: check.timeStep })
      .where(
        and(
          eq(mfaTotpSecrets.id, row.id),
          or(isNull(mfaTotpSecrets.lastTimeStep), lt(mfaTotpSecrets.lastTimeStep, check.timeStep)),
        ),
      )
      .returning({ id: mfaTotpSecrets.id });
    return moved.length === 1 ? check : { ok: false, reason: "replayed" };
  }

  private async check(row: typeof mfaTotpSecrets.$inferSelect, code: string, now: Date): Promise<TotpCheck> {
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

function usableSecret(principalId: string, now: Date) {
  return and(
    eq(mfaTotpSecrets.principalId, principalId),
    isNotNull(mfaTotpSecrets.confirmedAt),
    lte(mfaTotpSecrets.usableAt, now),
  );
}
