/**
 * Registered passkeys: the credential's public key and signature counter, and from when it counts.
 * Verifying registrations and sign-ins stays in src/mfa/webauthn.ts.
 */
import { and, eq, gt, lte } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaPasskeys } from "../schema/mfa.js";

export type PasskeyRow = typeof mfaPasskeys.$inferSelect;
export type NewPasskey = typeof mfaPasskeys.$inferInsert;

/** The person's passkeys; with `usableAt`, only those that count at that time. */
export function passkeyIdsOf(
  db: Executor,
  principalId: string,
  usableAt?: Date,
): Promise<{ id: string; transports: string[] }[]> {
  return db
    .select({ id: mfaPasskeys.id, transports: mfaPasskeys.transports })
    .from(mfaPasskeys)
    .where(and(eq(mfaPasskeys.principalId, principalId), usableAt ? lte(mfaPasskeys.usableAt, usableAt) : undefined));
}

export async function insertPasskey(tx: Executor, row: NewPasskey): Promise<void> {
  await tx.insert(mfaPasskeys).values(row);
}

/** The passkey `id` if it is the person's and counts at `now`, its row locked. */
export async function lockUsablePasskey(
  tx: Executor,
  id: string,
  principalId: string,
  now: Date,
): Promise<PasskeyRow | undefined> {
  const [row] = await tx
    .select()
    .from(mfaPasskeys)
    .where(and(eq(mfaPasskeys.id, id), eq(mfaPasskeys.principalId, principalId), lte(mfaPasskeys.usableAt, now)))
    .for("update");
  return row;
}

/** Stores the counter the authenticator reported and when it was used. */
export async function recordPasskeyUse(tx: Executor, id: string, counter: number, now: Date): Promise<void> {
  await tx.update(mfaPasskeys).set({ counter, lastUsedAt: now }).where(eq(mfaPasskeys.id, id));
}

export function passkeysOf(db: Executor, principalId: string): Promise<PasskeyRow[]> {
  return db.select().from(mfaPasskeys).where(eq(mfaPasskeys.principalId, principalId));
}

/** When the person's passkeys that do not count at `now` will. */
export async function passkeyUsableTimesAfter(db: Executor, principalId: string, now: Date): Promise<Date[]> {
  const rows = await db
    .select({ at: mfaPasskeys.usableAt })
    .from(mfaPasskeys)
    .where(and(eq(mfaPasskeys.principalId, principalId), gt(mfaPasskeys.usableAt, now)));
  return rows.map((r) => r.at);
}

/** Deletes the passkey `id` if it is the person's. */
export async function deletePasskey(tx: Executor, principalId: string, id: string): Promise<void> {
  await tx.delete(mfaPasskeys).where(and(eq(mfaPasskeys.id, id), eq(mfaPasskeys.principalId, principalId)));
}

export async function deletePasskeysOf(tx: Executor, principalId: string): Promise<void> {
  await tx.delete(mfaPasskeys).where(eq(mfaPasskeys.principalId, principalId));
}
