/**
 * Step-up links (the `mfa_tokens` table): one row per link handed out, found by the SHA-256 of the
 * token in it, single use. Hashing, the CSRF value and the checks on a found link stay in
 * src/mfa/tokens.ts; this file only reads and writes the rows.
 */
import { and, count, eq, gt, isNull, ne } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaTokens } from "../schema/mfa.js";

export type StepUpLinkRow = typeof mfaTokens.$inferSelect;
export type NewStepUpLink = typeof mfaTokens.$inferInsert;
export type StepUpLinkPurpose = StepUpLinkRow["purpose"];

/** Ends the person's unused links for the same purpose and request that are still open at `now`. */
export async function expireOpenLinks(
  tx: Executor,
  of: { principalId: string; purpose: StepUpLinkPurpose; requestId?: string | null },
  now: Date,
): Promise<void> {
  await tx
    .update(mfaTokens)
    .set({ expiresAt: now })
    .where(
      and(
        eq(mfaTokens.principalId, of.principalId),
        eq(mfaTokens.purpose, of.purpose),
        of.requestId ? eq(mfaTokens.requestId, of.requestId) : isNull(mfaTokens.requestId),
        isNull(mfaTokens.usedAt),
        gt(mfaTokens.expiresAt, now),
      ),
    );
}

export async function insertLink(tx: Executor, row: NewStepUpLink): Promise<StepUpLinkRow> {
  const [saved] = await tx.insert(mfaTokens).values(row).returning();
  return saved!;
}

/** The link whose token hashes to `tokenHash`; `forUpdate` locks its row. */
export async function linkByHash(
  tx: Executor,
  tokenHash: string,
  forUpdate: boolean,
): Promise<StepUpLinkRow | undefined> {
  const query = tx.select().from(mfaTokens).where(eq(mfaTokens.tokenHash, tokenHash));
  const [row] = forUpdate ? await query.for("update") : await query;
  return row;
}

/** The link with this id, its row locked. */
export async function lockLinkById(tx: Executor, id: string): Promise<StepUpLinkRow | undefined> {
  const [row] = await tx.select().from(mfaTokens).where(eq(mfaTokens.id, id)).for("update");
  return row;
}

/** Marks the link used (and drops its challenge) if it was not yet; true for the one caller that did. */
export async function markLinkUsed(tx: Executor, id: string, now: Date): Promise<boolean> {
  const rows = await tx
    .update(mfaTokens)
    .set({ usedAt: now, challenge: null })
    .where(and(eq(mfaTokens.id, id), isNull(mfaTokens.usedAt)))
    .returning({ id: mfaTokens.id });
  return rows.length === 1;
}

export async function markLinkProven(tx: Executor, id: string, now: Date): Promise<void> {
  await tx.update(mfaTokens).set({ provenAt: now }).where(eq(mfaTokens.id, id));
}

/** Stores the WebAuthn challenge in flight on the link; null clears it. */
export async function setLinkChallenge(tx: Executor, id: string, challenge: string | null): Promise<void> {
  await tx.update(mfaTokens).set({ challenge }).where(eq(mfaTokens.id, id));
}

/** Links handed to the person after `since`, leaving out administrators' invitations. */
export async function countLinksSince(tx: Executor, principalId: string, since: Date): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(mfaTokens)
    .where(
      and(eq(mfaTokens.principalId, principalId), ne(mfaTokens.purpose, "invite"), gt(mfaTokens.createdAt, since)),
    );
  return Number(row?.n ?? 0);
}
