import { asc, eq, gt } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaTotpSecrets } from "../schema/mfa.js";

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
