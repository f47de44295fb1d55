import type { Executor } from "../db/client.js";
import { deletePasskey, deletePasskeysOf, passkeysOf, passkeyUsableTimesAfter } from "../db/repos/passkeys.js";
import {
  confirmedTotpSecretsOf,
  deleteTotpSecret,
  deleteTotpSecretsOf,
  totpUsableTimesAfter,
} from "../db/repos/totp-secrets.js";

export type FactorMethod = "totp" | "passkey";

/** One of a person's factors, as their factor list shows it. */
export interface Factor {
  id: string;
  method: FactorMethod;
  createdAt: Date;
  usableAt: Date;
  /** `factor`, `invitation`, `oidc`, `delay`; null for factors older than that record. */
  enrolledVia: string | null;
}

/** How an enrollment was allowed, and so when the new factor starts to count. */
export type EnrolledVia = "factor" | "invitation" | "oidc" | "delay";

export async function listFactors(db: Executor, principalId: string): Promise<Factor[]> {
  const [totp, passkeys] = await Promise.all([confirmedTotpSecretsOf(db, principalId), passkeysOf(db, principalId)]);
  return [
    ...totp.map((t) => ({
      id: t.id,
      method: "totp" as const,
      createdAt: t.confirmedAt ?? t.createdAt,
      usableAt: t.usableAt,
      enrolledVia: t.enrolledVia,
    })),
    ...passkeys.map((p) => ({
      id: p.id,
      method: "passkey" as const,
      createdAt: p.createdAt,
      usableAt: p.usableAt,
      enrolledVia: p.enrolledVia,
    })),
  ].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** Factors set up without proof that do not count yet; the earliest time one will. */
export async function pendingUntil(db: Executor, principalId: string, now: Date): Promise<Date | null> {
  const waiting = [
    ...(await totpUsableTimesAfter(db, principalId, now)),
    ...(await passkeyUsableTimesAfter(db, principalId, now)),
  ].map((at) => at.getTime());
  return waiting.length > 0 ? new Date(Math.min(...waiting)) : null;
}

/** Removes one of the person's own factors; null when they have no such factor. */
export async function removeFactor(tx: Executor, principalId: string, factorId: string): Promise<Factor | null> {
  const mine = (await listFactors(tx, principalId)).find((f) => f.id === factorId);
  if (!mine) return null;
  if (mine.method === "totp") await deleteTotpSecret(tx, mine.id);
  else await deletePasskey(tx, principalId, mine.id);
  return mine;
}

/** Removes every factor of the person (a lost device): they need an invitation, or the IdP, to start again. */
export async function removeAllFactors(tx: Executor, principalId: string): Promise<Factor[]> {
  const all = await listFactors(tx, principalId);
  await deleteTotpSecretsOf(tx, principalId);
  await deletePasskeysOf(tx, principalId);
  return all;
}
