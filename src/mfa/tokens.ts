import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { newId } from "../app/kernel/ids.js";
import type { Executor } from "../db/client.js";
import {
  expireOpenLinks,
  insertLink,
  linkByHash,
  lockLinkById,
  markLinkProven,
  markLinkUsed,
  type StepUpLinkRow,
  setLinkChallenge,
} from "../db/repos/step-up-links.js";

/** `assignment`: an administrator confirms an active assignment held for their step-up (requestId: the pending assignment). */
export type TokenPurpose = "activation" | "approval" | "enroll" | "invite" | "assignment";
export type StepUpToken = StepUpLinkRow;
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
  await expireOpenLinks(tx, input, now);
  const raw = newRawToken();
  const token = await insertLink(tx, {
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
  });
  return { raw, token };
}

export type TokenCheck = { ok: true; token: StepUpToken } | { ok: false; problem: TokenProblem };

/**
 * The token a link stands for, if it can still be used. `forUpdate` queues concurrent posts.
 * Whether its person is locked out is the caller's question (see lockout.ts).
 */
export async function findToken(tx: Executor, raw: string, now: Date, forUpdate = false): Promise<TokenCheck> {
  if (!RAW_TOKEN.test(raw)) return { ok: false, problem: "unknown" };
  return checkToken(await linkByHash(tx, hashToken(raw), forUpdate), now);
}

export async function tokenById(tx: Executor, id: string, now: Date): Promise<TokenCheck> {
  return checkToken(await lockLinkById(tx, id), now);
}

function checkToken(token: StepUpToken | undefined, now: Date): TokenCheck {
  if (!token) return { ok: false, problem: "unknown" };
  if (token.usedAt) return { ok: false, problem: "used" };
  if (token.expiresAt <= now) return { ok: false, problem: "expired" };
  return { ok: true, token };
}

/** Single use: only the first caller gets true, however many race for it. */
export async function consumeToken(tx: Executor, id: string, now: Date): Promise<boolean> {
  return markLinkUsed(tx, id, now);
}

export async function markProven(tx: Executor, id: string, now: Date): Promise<void> {
  await markLinkProven(tx, id, now);
}

export async function setChallenge(tx: Executor, id: string, challenge: string): Promise<void> {
  await setLinkChallenge(tx, id, challenge);
}

/** A WebAuthn challenge answers once: reading it clears it. */
export async function takeChallenge(tx: Executor, token: StepUpToken): Promise<string | null> {
  if (!token.challenge) return null;
  await setLinkChallenge(tx, token.id, null);
  return token.challenge;
}

export function csrfMatches(token: StepUpToken, given: unknown): boolean {
  if (typeof given !== "string" || given.length === 0) return false;
  const a = Buffer.from(token.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
