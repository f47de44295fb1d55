/**
 * Access reviews as pure rules: who reviews an assignment, whether a reviewer may decide it, what
 * happens to an item nobody answered, and when a recurring review comes round again.
 */
import { DAY, HOUR } from "./duration.js";
import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";

export type RecurrencePreset = "weekly" | "monthly" | "quarterly" | "semiannually" | "annually";
export type ReviewRecurrence = { kind: "one-time" } | { kind: RecurrencePreset } | { kind: "cron"; expression: string };

export const RECURRENCE_PRESETS: RecurrencePreset[] = ["weekly", "monthly", "quarterly", "semiannually", "annually"];

/** A review may not outlast its period (Entra: a monthly review is at most 27 days long). */
export const MAX_REVIEW_DURATION_MS: Record<ReviewRecurrence["kind"], number> = {
  "one-time": 365 * DAY,
  weekly: 6 * DAY,
  monthly: 27 * DAY,
  quarterly: 89 * DAY,
  semiannually: 180 * DAY,
  annually: 364 * DAY,
  cron: 364 * DAY,
};
export const MIN_REVIEW_DURATION_MS = HOUR;

export const DEFAULT_REVIEW_DURATION_MS: Record<ReviewRecurrence["kind"], number> = {
  "one-time": 7 * DAY,
  weekly: 3 * DAY,
  monthly: 7 * DAY,
  quarterly: 14 * DAY,
  semiannually: 14 * DAY,
  annually: 14 * DAY,
  cron: 7 * DAY,
};

/**
 * self: each holder reviews their own assignment (a group's members review the group's);
 * manager: the holder's manager, else the fallback reviewers; named: the users and groups listed.
 */
export type ReviewerMode = "self" | "manager" | "named";

export type UnansweredPolicy = "keep" | "remove" | "recommendation";
export type ReviewDecision = "keep" | "remove";
export type AssignmentKind = "eligible" | "active";

/** What a campaign runs under, frozen when it starts (principal ids, not keys). */
export interface ReviewSettings {
  title: string;
  roleIds: string[];
  groupIds: string[];
  kinds: AssignmentKind[];
  reviewerMode: ReviewerMode;
  /** Named reviewers (mode named). */
  reviewerIds: string[];
  /** Used when the manager is missing, or the only reviewer would be the holder. Default: PIM admins. */
  fallbackIds: string[];
  unanswered: UnansweredPolicy;
  inactiveDays: number;
  autoApply: boolean;
  /** Milliseconds before the end at which reviewers with open items are reminded. */
  remindersMs: number[];
}

// ── reviewers ──────────────────────────────────────────────────────────────────────────────

export interface Holder {
  id: string;
  kind: "user" | "group";
  managerId: string | null;
}

/**
 * The principals (users or groups) who review one holder's assignment. Outside `self` mode the
 * holder is never their own reviewer: when nobody else is left, the fallback reviewers take
 * over, and then the administrators.
 */
export function reviewersFor(holder: Holder, settings: ReviewSettings, adminIds: string[]): string[] {
  if (settings.reviewerMode === "self") return [holder.id];
  const others = (ids: string[]) => [...new Set(ids)].filter((id) => id !== holder.id);
  const chosen =
    settings.reviewerMode === "manager"
      ? others(holder.managerId ? [holder.managerId] : [])
      : others(settings.reviewerIds);
  if (chosen.length > 0) return chosen;
  const fallback = others(settings.fallbackIds);
  return fallback.length > 0 ? fallback : others(adminIds);
}

/** What the engine knows of a reviewer at click time. */
export interface Reviewer {
  id: string;
  /** Every group the reviewer belongs to, nested ones included. */
  groupIds: string[];
}

export interface ReviewableItem {
  holderId: string;
  reviewers: string[];
}

/**
 * Whether this reviewer may decide this item: they must be one of its reviewers (or in a group
 * that is), and, unless the review is a self-review, the assignment must not be their own,
 * directly or through a group they are in.
 */
export function checkReviewer(reviewer: Reviewer, item: ReviewableItem, mode: ReviewerMode): Result<true, Refusal> {
  const mine = new Set([reviewer.id, ...reviewer.groupIds]);
  if (!item.reviewers.some((id) => mine.has(id)))
    return err(refuse("NOT_A_REVIEWER", "You are not a reviewer of this assignment."));
  if (mode !== "self" && mine.has(item.holderId))
    return err(refuse("SELF_REVIEW", "You cannot review your own access; another reviewer decides it."));
  return ok(true);
}

// ── recommendations and outcomes ───────────────────────────────────────────────────────────

export interface UsageFacts {
  kind: AssignmentKind;
  /** When the holder first had the assignment. */
  since: Date;
  lastActivatedAt: Date | null;
}

/**
 * Remove an eligibility not activated in the last N days. An assignment younger than N days, or
 * an active one (which is never activated), gives no signal, so the recommendation is to keep it.
 */
export function recommend(usage: UsageFacts, inactiveDays: number, now: Date): ReviewDecision {
  if (usage.kind !== "eligible") return "keep";
  const cutoff = now.getTime() - inactiveDays * DAY;
  if (usage.since.getTime() > cutoff) return "keep";
  return usage.lastActivatedAt && usage.lastActivatedAt.getTime() > cutoff ? "keep" : "remove";
}

/** The decision, when there is one; otherwise what the review says to do with silence. */
export function outcomeOf(
  decision: ReviewDecision | null,
  unanswered: UnansweredPolicy,
  recommendation: ReviewDecision,
): ReviewDecision {
  if (decision) return decision;
  if (unanswered === "recommendation") return recommendation;
  return unanswered;
}

/** Reminder offsets now due and not yet sent, largest first. */
export function dueReminders(endsAt: Date, remindersMs: number[], sentMs: number[], now: Date): number[] {
  if (now >= endsAt) return [];
  const sent = new Set(sentMs);
  return remindersMs
    .filter((before) => !sent.has(before) && now.getTime() >= endsAt.getTime() - before)
    .sort((a, b) => b - a);
}

// ── recurrence ─────────────────────────────────────────────────────────────────────────────

export interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday, as cron counts. */
  weekday: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** The date and time an instant shows on a clock in `timeZone` (an IANA name such as Europe/Paris). */
export function wallClock(at: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    weekday: "short",
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "0";
  return {
    year: Number(part("year")),
    month: Number(part("month")),
    day: Number(part("day")),
    hour: Number(part("hour")),
    minute: Number(part("minute")),
    weekday: WEEKDAYS.indexOf(part("weekday")),
  };
}

export function isValidTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * A recurrence as a cron expression (minute hour day month weekday) read in the review's time
 * zone: a preset repeats the wall-clock time, day and month of its first start. One-time reviews
 * have none.
 */
export function recurrenceCron(recurrence: ReviewRecurrence, start: Date | null, timeZone: string): string | null {
  if (recurrence.kind === "one-time") return null;
  if (recurrence.kind === "cron") return recurrence.expression;
  if (!start) throw new Error(`a ${recurrence.kind} review needs a start`);
  const w = wallClock(start, timeZone);
  const time = `${w.minute} ${w.hour}`;
  switch (recurrence.kind) {
    case "weekly":
      return `${time} * * ${w.weekday}`;
    case "monthly":
      return `${time} ${w.day} * *`;
    case "quarterly":
      return `${time} ${w.day} ${everyNthMonth(w.month, 3)} *`;
    case "semiannually":
      return `${time} ${w.day} ${everyNthMonth(w.month, 6)} *`;
    case "annually":
      return `${time} ${w.day} ${w.month} *`;
    default: {
      const never: never = recurrence;
      throw new Error(`unknown recurrence ${String(never)}`);
    }
  }
}

/** "3,6,9,12" for every third month counted from March. */
function everyNthMonth(first: number, step: number): string {
  const months: number[] = [];
  for (let m = first; months.length < 12 / step; m += step) months.push(((m - 1) % 12) + 1);
  return months.sort((a, b) => a - b).join(",");
}
