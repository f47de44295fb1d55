import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt, isNull } from "drizzle-orm";
import { newId } from "../app/ids.js";
import type { Executor } from "../db/client.js";
import { mfaTokens } from "../db/schema/mfa.js";

/** `assignment`: an administrator confirms an active assignment held for their step-up (requestId: the pending assignment). */
export type TokenPurpose = "activation" | "approval" | "enroll" | "invite" | "assignment";
export type StepUpToken = typeof mfaTokens.$inferSelect;
export type TokenProblem = "unknown" | "used" | "expired" | "locked";

const RAW_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** 256 random bits, base64url: what goes into the link. Only its hash is stored. */
export function newRawToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashToken(raw: string): string {
  return createHash("sha256").update(raw).digest("hex");
}

export interface TokenInput {
  purpose: TokenPurpose;
  principalId: string;
  requestId?: string | null;
  activationId?: string | null;
  comment?: string | null;
}

/**
 * Issues a fresh link and retires the person's earlier unused links for the same thing, so only
 * the newest link in chat works.
 */
export async function issueToken(
  tx: Executor,
  input: TokenInput,
  now: Date,
  ttlMs: number,
): Promise<{ raw: string; token: StepUpToken }> {
  await tx
    .update(mfaTokens)
    .set({ expiresAt: now })
    .where(
      and(
        eq(mfaTokens.principalId, input.principalId),
        eq(mfaTokens.purpose, input.purpose),
        input.requestId ? eq(mfaTokens.requestId, input.requestId) : isNull(mfaTokens.requestId),
        isNull(mfaTokens.usedAt),
        gt(mfaTokens.expiresAt, now),
      ),
    );
  const raw = newRawToken();
  const [token] = await tx
    .insert(mfaTokens)
    .values({
      id: newId("tok"),
      tokenHash: hashToken(raw),
      purpose: input.purpose,
      principalId: input.principalId,
      requestId: input.requestId ?? null,
      activationId: input.activationId ?? null,
      comment: input.comment ?? null,
      csrf: randomBytes(32).toString("base64url"),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    })
    .returning();
  return { raw, token: token! };
}

export type TokenCheck = { ok: true; token: StepUpToken } | { ok: false; problem: TokenProblem };

/**
 * The token a link stands for, if it can still be used. `forUpdate` queues concurrent posts.
 * Whether its person is locked out is the caller's question (see lockout.ts).
 */
export async function findToken(tx: Executor, raw: string, now: Date, forUpdate = false): Promise<TokenCheck> {
  if (!RAW_TOKEN.test(raw)) return { ok: false, problem: "unknown" };
  const query = tx
    .select()
    .from(mfaTokens)
    .where(eq(mfaTokens.tokenHash, hashToken(raw)));
  const [token] = forUpdate ? await query.for("update") : await query;
  return checkToken(token, now);
}

export async function tokenById(tx: Executor, id: string, now: Date): Promise<TokenCheck> {
  const [token] = await tx.select().from(mfaTokens).where(eq(mfaTokens.id, id)).for("update");
  return checkToken(token, now);
}

function checkToken(token: StepUpToken | undefined, now: Date): TokenCheck {
  if (!token) return { ok: false, problem: "unknown" };
  if (token.usedAt) return { ok: false, problem: "used" };
  if (token.expiresAt <= now) return { ok: false, problem: "expired" };
  return { ok: true, token };
}

/** Single use: only the first caller gets true, however many race for it. */
export async function consumeToken(tx: Executor, id: string, now: Date): Promise<boolean> {
  const rows = await tx
    .update(mfaTokens)
    .set({ usedAt: now, challenge: null })
    .where(and(eq(mfaTokens.id, id), isNull(mfaTokens.usedAt)))
    .returning({ id: mfaTokens.id });
  return rows.length === 1;
}

export async function markProven(tx: Executor, id: string, now: Date): Promise<void> {
  await tx.update(mfaTokens).set({ provenAt: now }).where(eq(mfaTokens.id, id));
}

export async function setChallenge(tx: Executor, id: string, challenge: string): Promise<void> {
  await tx.update(mfaTokens).set({ challenge }).where(eq(mfaTokens.id, id));
}

/** A WebAuthn challenge answers once: reading it clears it. */
export async function takeChallenge(tx: Executor, token: StepUpToken): Promise<string | null> {
  if (!token.challenge) return null;
  await tx.update(mfaTokens).set({ challenge: null }).where(eq(mfaTokens.id, token.id));
  return token.challenge;
}

export function csrfMatches(token: StepUpToken, given: unknown): boolean {
  if (typeof given !== "string" || given.length === 0) return false;
  const a = Buffer.from(token.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
