/**
 * The identity provider account bound to each person: issuer and stable subject, one account per
 * person and one person per account.
 */
import { and, eq } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaOidcBindings } from "../schema/mfa.js";

export interface IdpAccount {
  issuer: string;
  subject: string;
}

export async function oidcBindingOf(db: Executor, principalId: string): Promise<IdpAccount | null> {
  const [row] = await db.select().from(mfaOidcBindings).where(eq(mfaOidcBindings.principalId, principalId));
  return row ? { issuer: row.issuer, subject: row.subject } : null;
}

/** The people the account is bound to (at most one). */
export async function principalsBoundTo(db: Executor, account: IdpAccount): Promise<string[]> {
  const rows = await db
    .select({ principalId: mfaOidcBindings.principalId })
    .from(mfaOidcBindings)
    .where(and(eq(mfaOidcBindings.issuer, account.issuer), eq(mfaOidcBindings.subject, account.subject)));
  return rows.map((r) => r.principalId);
}

/** Binds the account to the person unless either is bound already; whether it was stored. */
export async function insertOidcBinding(
  db: Executor,
  principalId: string,
  account: IdpAccount,
  now: Date,
): Promise<boolean> {
  const inserted = await db
    .insert(mfaOidcBindings)
    .values({ principalId, issuer: account.issuer, subject: account.subject, boundAt: now })
    .onConflictDoNothing()
    .returning({ principalId: mfaOidcBindings.principalId });
  return inserted.length === 1;
}
