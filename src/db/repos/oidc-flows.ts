/**
 * OpenID Connect step-ups in flight: what the callback needs to finish one (nonce, PKCE verifier),
 * found by the SHA-256 of its state parameter, single use.
 */
import { eq } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaOidcFlows } from "../schema/mfa.js";

export type OidcFlowRow = typeof mfaOidcFlows.$inferSelect;
export type NewOidcFlow = typeof mfaOidcFlows.$inferInsert;

export async function insertOidcFlow(tx: Executor, row: NewOidcFlow): Promise<void> {
  await tx.insert(mfaOidcFlows).values(row);
}

/** The flow whose state hashes to `stateHash`, its row locked. */
export async function lockOidcFlow(tx: Executor, stateHash: string): Promise<OidcFlowRow | undefined> {
  const [row] = await tx.select().from(mfaOidcFlows).where(eq(mfaOidcFlows.stateHash, stateHash)).for("update");
  return row;
}

export async function markOidcFlowUsed(tx: Executor, stateHash: string, now: Date): Promise<void> {
  await tx.update(mfaOidcFlows).set({ usedAt: now }).where(eq(mfaOidcFlows.stateHash, stateHash));
}
