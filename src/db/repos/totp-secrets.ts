/**
 * Authenticator app (TOTP) secrets, stored sealed: a row waiting on the enrollment link that
 * offered it, then the person's confirmed secret. Sealing, opening and checking codes stay in
 * src/mfa/.
 */
import { and, asc, eq, gt, isNotNull, isNull, lt, lte, or } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaTotpSecrets } from "../schema/mfa.js";

export type TotpSecretRow = typeof mfaTotpSecrets.$inferSelect;

export interface SealedTotpSecret {
  id: string;
  principalId: string;
  secret: string;
}

/** A page of stored authenticator secrets, in id order after `afterId`. */
export function totpSecretsAfter(db: Executor, afterId: string, limit: number): Promise<SealedTotpSecret[]> {
  return db
    .select({ id: mfaTotpSecrets.id, principalId: mfaTotpSecrets.principalId, secret: mfaTotpSecrets.secret })
    .from(mfaTotpSecrets)
    .where(gt(mfaTotpSecrets.id, afterId))
    .orderBy(asc(mfaTotpSecrets.id))
    .limit(limit);
}

export async function replaceTotpSecret(db: Executor, id: string, secret: string): Promise<void> {
  await db.update(mfaTotpSecrets).set({ secret }).where(eq(mfaTotpSecrets.id, id));
}

/** Whether the person has a confirmed secret that counts at `now`. */
export async function hasUsableTotpSecret(db: Executor, principalId: string, now: Date): Promise<boolean> {
  const [row] = await db.select({ id: mfaTotpSecrets.id }).from(mfaTotpSecrets).where(usableSecret(principalId, now));
  return row !== undefined;
}

/** The person's confirmed secret that counts at `now`, its row locked. */
export async function lockUsableTotpSecret(
  tx: Executor,
  principalId: string,
  now: Date,
): Promise<TotpSecretRow | undefined> {
  const [row] = await tx.select().from(mfaTotpSecrets).where(usableSecret(principalId, now)).for("update");
  return row;
}

/** The secret offered on the enrollment link `tokenId`, not yet confirmed; `forUpdate` locks it. */
export async function totpSecretOfferedOn(
  tx: Executor,
  tokenId: string,
  forUpdate = false,
): Promise<TotpSecretRow | undefined> {
  const query = tx.select().from(mfaTotpSecrets).where(eq(mfaTotpSecrets.pendingTokenId, tokenId));
  const [row] = forUpdate ? await query.for("update") : await query;
  return row;
}

export async function insertTotpSecret(
  tx: Executor,
  row: { id: string; principalId: string; secret: string; pendingTokenId: string; createdAt: Date },
): Promise<void> {
  await tx.insert(mfaTotpSecrets).values(row);
}

/** Deletes the person's confirmed secret; whether there was one. */
export async function deleteConfirmedTotpSecret(tx: Executor, principalId: string): Promise<boolean> {
  const replaced = await tx
    .delete(mfaTotpSecrets)
    .where(and(eq(mfaTotpSecrets.principalId, principalId), isNotNull(mfaTotpSecrets.confirmedAt)))
    .returning({ id: mfaTotpSecrets.id });
  return replaced.length > 0;
}

/** Makes an offered secret the confirmed one, its first code's time step already spent. */
export async function confirmTotpSecret(
  tx: Executor,
  id: string,
  confirmation: { confirmedAt: Date; lastTimeStep: number; usableAt: Date; enrolledVia: string },
): Promise<void> {
  await tx
    .update(mfaTotpSecrets)
    .set({
      confirmedAt: confirmation.confirmedAt,
      pendingTokenId: null,
      lastTimeStep: confirmation.lastTimeStep,
      usableAt: confirmation.usableAt,
      enrolledVia: confirmation.enrolledVia,
    })
    .where(eq(mfaTotpSecrets.id, id));
}

/**
 * Records `timeStep` as the last accepted one, only if it is later than the one on record: true
 * for the one caller that moved it.
 */
export async function advanceTotpTimeStep(tx: Executor, id: string, timeStep: number): Promise<boolean> {
  const moved = await tx
    .update(mfaTotpSecrets)
    .set({ lastTimeStep: timeStep })
    .where(
      and(
        eq(mfaTotpSecrets.id, id),
        or(isNull(mfaTotpSecrets.lastTimeStep), lt(mfaTotpSecrets.lastTimeStep, timeStep)),
      ),
    )
    .returning({ id: mfaTotpSecrets.id });
  return moved.length === 1;
}

/** The person's confirmed secrets (at most one), whether they count yet or not. */
export function confirmedTotpSecretsOf(db: Executor, principalId: string): Promise<TotpSecretRow[]> {
  return db
    .select()
    .from(mfaTotpSecrets)
    .where(and(eq(mfaTotpSecrets.principalId, principalId), isNotNull(mfaTotpSecrets.confirmedAt)));
}

/** When the person's confirmed secrets that do not count at `now` will. */
export async function totpUsableTimesAfter(db: Executor, principalId: string, now: Date): Promise<Date[]> {
  const rows = await db
    .select({ at: mfaTotpSecrets.usableAt })
    .from(mfaTotpSecrets)
    .where(
      and(
        eq(mfaTotpSecrets.principalId, principalId),
        isNotNull(mfaTotpSecrets.confirmedAt),
        gt(mfaTotpSecrets.usableAt, now),
      ),
    );
  return rows.map((r) => r.at);
}

export async function deleteTotpSecret(tx: Executor, id: string): Promise<void> {
  await tx.delete(mfaTotpSecrets).where(eq(mfaTotpSecrets.id, id));
}

/** Deletes every secret of the person, confirmed or offered. */
export async function deleteTotpSecretsOf(tx: Executor, principalId: string): Promise<void> {
  await tx.delete(mfaTotpSecrets).where(eq(mfaTotpSecrets.principalId, principalId));
}

function usableSecret(principalId: string, now: Date) {
  return and(
    eq(mfaTotpSecrets.principalId, principalId),
    isNotNull(mfaTotpSecrets.confirmedAt),
    lte(mfaTotpSecrets.usableAt, now),
  );
}
