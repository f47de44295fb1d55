import type { Logger } from "pino";
import { isTransientFailure } from "../../app/kernel/transient.js";

/**
 * How a click or a form is tried again when the database fails it for a moment (a restart, a
 * failover, a dropped connection): attempts with a growing pause between them, for as long as
 * the platform lets the person wait for an answer.
 */
export interface RecordingPolicy {
  /**
   * How long a click answered at once (Slack acknowledges before the work) is tried again. Slack's
   * response_url, which tells the clicker when it did not count, lasts 30 minutes; a minute covers
   * a restart or a failover without leaving the clicker wondering.
   */
  windowMs: number;
  /**
   * How long a platform that waits for the answer is kept waiting (Teams gives up on a card action
   * after 15 s): a Teams form is tried again this long; a Teams click is answered that it is still
   * being tried, and is tried for the rest of the window.
   */
  answerMs: number;
  /** How long a Slack modal may wait for its answer (Slack gives up after 3 s). */
  modalMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /** Pauses between attempts; tests let the time pass by hand. */
  wait(ms: number): Promise<void>;
  /** Milliseconds on the clock the window is measured with. */
  now(): number;
}

export const DEFAULT_RECORDING: RecordingPolicy = {
  windowMs: 60_000,
  answerMs: 10_000,
  modalMs: 2_500,
  firstDelayMs: 200,
  maxDelayMs: 5_000,
  wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

export type Recorded<T> = { ok: true; value: T } | { ok: false; error: unknown; attempts: number };

/**
 * Runs `work`, and runs it again after a pause whenever the database failed it transiently,
 * until it succeeds or `budgetMs` has passed. Each attempt is a whole unit of work that either
 * committed or left nothing behind; anything other than a transient database failure is thrown.
 * When the platform waits for an answer, `answer.late` is called once its wait is over while the
 * work is still being tried, so the platform can be answered and the person told later.
 */
export async function tryRecording<T>(
  policy: RecordingPolicy,
  log: Logger,
  budgetMs: number,
  work: () => Promise<T>,
  answer?: { withinMs: number; late: () => void },
): Promise<Recorded<T>> {
  const started = policy.now();
  const until = started + budgetMs;
  let delay = policy.firstDelayMs;
  let late = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      if (!isTransientFailure(error)) throw error;
      const left = until - policy.now();
      if (left <= 0) return { ok: false, error, attempts: attempt };
      if (answer && !late && policy.now() - started >= answer.withinMs) {
        late = true;
        answer.late();
      }
      log.warn({ err: error, attempt }, "the database failed this action; trying it again");
      await policy.wait(Math.min(delay, left));
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

/** What the person reads when their click could not be recorded. */
export const clickNotCounted = (requestId: string) =>
  `Your click did not count: the database did not answer, so nothing was recorded. Click again in a moment. (ref ${requestId})`;

/** What the person reads when the platform could wait no longer but the click is still being tried. */
export const clickStillTrying = (requestId: string, windowMs: number) =>
  `The database is not answering; your click is being tried again for up to ${Math.round(windowMs / 1000)} seconds, and you will be told here if it does not count. (ref ${requestId})`;

/** What the person reads under a form that could not be saved. */
export const formNotSaved = (requestId: string) =>
  `Not saved: the database did not answer, so nothing was recorded. Submit again in a moment. (ref ${requestId})`;

/** What the person reads when their click or form failed for a reason other than the database being away. */
export const actionFailed = (requestId: string) =>
  `Something went wrong on my side, so this may not have counted; it was logged. Look again, or try again in a moment. (ref ${requestId})`;

/** Logs a click or form that could not be recorded, with the request id the person was given. */
export function logNotRecorded(log: Logger, failed: { error: unknown; attempts: number }, what: string): void {
  log.error(
    { err: failed.error, attempts: failed.attempts },
    `${what} could not be recorded; the person was told to try again`,
  );
}
