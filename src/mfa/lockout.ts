import { newId } from "../app/kernel/ids.js";
import type { Executor } from "../db/client.js";
import {
  clearLockoutsInForce,
  deleteFailures,
  failuresSince,
  insertFailure,
  insertLockout,
  type LockoutRow,
  latestLockout,
} from "../db/repos/mfa-lockout.js";
import { countLinksSince } from "../db/repos/step-up-links.js";
import { HOUR, MINUTE } from "../domain/duration.js";

/** How hard guessing is made: MFA_MAX_FAILURES, MFA_FAILURE_WINDOW, MFA_LOCKOUT, MFA_LINKS_PER_HOUR. */
export interface GuardSettings {
  /** Failures by one person, over all their links, within `windowMs` that lock their step-up. */
  maxFailures: number;
  windowMs: number;
  /** How long a lockout lasts unless an administrator clears it sooner. */
  lockoutMs: number;
  /** Step-up and enrollment links one person may be handed per hour. */
  linksPerHour: number;
}

export const DEFAULT_GUARD: GuardSettings = { maxFailures: 5, windowMs: HOUR, lockoutMs: HOUR, linksPerHour: 20 };

/** Where a person stands: free to try, asked to wait a little, or locked out. */
export type Standing =
  | { state: "open"; failures: number }
  | { state: "backoff"; failures: number; retryAt: Date }
  | { state: "locked"; failures: number; until: Date };

/**
 * The wait before the next try after `failures` recent failures: none after the first, then 5 s
 * doubling (5, 10, 20, 40 s…), at most 5 minutes. Typos cost nothing; a guesser gets a few tries an hour.
 */
export function backoffMs(failures: number): number {
  if (failures < 2) return 0;
  return Math.min(5_000 * 2 ** (failures - 2), 5 * MINUTE);
}

/** Failures that still count: in the window, and after the last lockout began (it paid for those before). */
async function recentFailures(
  db: Executor,
  principalId: string,
  now: Date,
  settings: GuardSettings,
  lockout: LockoutRow | undefined,
): Promise<{ failures: number; last: Date | null }> {
  const windowStart = now.getTime() - settings.windowMs;
  const since = new Date(Math.max(windowStart, lockout?.lockedAt.getTime() ?? windowStart));
  return failuresSince(db, principalId, since);
}

export async function standingOf(
  db: Executor,
  principalId: string,
  now: Date,
  settings: GuardSettings,
): Promise<Standing> {
  const lockout = await latestLockout(db, principalId);
  const { failures, last } = await recentFailures(db, principalId, now, settings, lockout);
  if (lockout && !lockout.clearedAt && lockout.until > now) return { state: "locked", failures, until: lockout.until };
  const wait = backoffMs(failures);
  if (last && wait > 0 && last.getTime() + wait > now.getTime())
    return { state: "backoff", failures, retryAt: new Date(last.getTime() + wait) };
  return { state: "open", failures };
}

/** Counts one failure; the one that reaches the limit locks the person out and says until when. */
export async function countFailure(
  tx: Executor,
  principalId: string,
  method: string,
  now: Date,
  settings: GuardSettings,
): Promise<{ failures: number; locked: { id: string; until: Date } | null }> {
  await insertFailure(tx, { id: newId("mfa"), principalId, method, at: now });
  const { failures } = await recentFailures(tx, principalId, now, settings, await latestLockout(tx, principalId));
  if (failures < settings.maxFailures) return { failures, locked: null };
  const lockout = { id: newId("mfa"), principalId, lockedAt: now, until: new Date(now.getTime() + settings.lockoutMs) };
  await insertLockout(tx, lockout);
  return { failures, locked: { id: lockout.id, until: lockout.until } };
}

/**
 * An administrator's reset: lifts a lockout in force and forgets the failures so far. Returns
 * what there was to clear.
 */
export async function clearLockout(
  tx: Executor,
  principalId: string,
  now: Date,
  by: string,
): Promise<{ lockout: boolean; failures: number }> {
  const lifted = await clearLockoutsInForce(tx, principalId, now, by);
  const forgotten = await deleteFailures(tx, principalId);
  return { lockout: lifted > 0, failures: forgotten };
}

/** Links handed to this person in the last hour; an administrator's invitations do not count. */
export async function linksInLastHour(tx: Executor, principalId: string, now: Date): Promise<number> {
  return countLinksSince(tx, principalId, new Date(now.getTime() - HOUR));
}
