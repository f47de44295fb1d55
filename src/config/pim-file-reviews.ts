/**
 * The `reviews:` section of pim.yaml: access reviews declared as code. The shape is checked here;
 * names that must refer to roles, groups and users are checked by `checkReviews` once every
 * section has the right shape.
 */
import cron from "node-cron";
import { z } from "zod";
import { DAY, formatDuration, MINUTE, parseDuration } from "../domain/duration.js";
import {
  DEFAULT_REVIEW_DURATION_MS,
  isValidTimeZone,
  MAX_REVIEW_DURATION_MS,
  MIN_REVIEW_DURATION_MS,
  RECURRENCE_PRESETS,
  type RecurrencePreset,
  type ReviewerMode,
  type ReviewRecurrence,
  type UnansweredPolicy,
  wallClock,
} from "../domain/review-rules.js";
import { didYouMean } from "./pim-file-messages.js";

/** A review as pim.yaml declares it, normalized (durations in ms, absent optionals filled in). */
export interface PimReview {
  name: string;
  title: string;
  /** Role keys: every assignment of these roles is reviewed. */
  roles: string[];
  /** Group keys: every assignment these groups hold is reviewed. */
  groups: string[];
  /**
   * Privileged group keys (PIM for Groups): who is assigned their membership and ownership is
   * reviewed. Once the file is read, their membership and ownership roles are also in `roles`.
   */
  memberships: string[];
  kinds: ("eligible" | "active")[];
  recurrence: ReviewRecurrence;
  /** The first (or only) start; null only for cron recurrences. */
  start: Date | null;
  timezone: string;
  durationMs: number;
  reviewers: { mode: ReviewerMode; principals: string[] };
  fallbackReviewers: string[];
  unanswered: UnansweredPolicy;
  inactiveDays: number;
  autoApply: boolean;
  remindersMs: number[];
}

const KEY = /^[a-z0-9][a-z0-9._-]*$/;
const key = z.string().regex(KEY, 'must be lowercase letters, digits, ".", "_" or "-", such as "db-admin"');

function keyList() {
  return z.array(key).superRefine((items, ctx) => {
    items.forEach((value, index) => {
      if (items.indexOf(value) < index)
        ctx.addIssue({ code: "custom", path: [index], message: `"${value}" is listed twice` });
    });
  });
}

const RECURRENCE_HELP =
  'must be one-time, weekly, monthly, quarterly, semiannually, annually or a cron expression such as "0 9 1 * *"';

const recurrence = z
  .string({ error: (iss) => (iss.input === undefined ? "is required" : RECURRENCE_HELP) })
  .transform((written, ctx): ReviewRecurrence => {
    const text = written.trim();
    if (text === "one-time") return { kind: "one-time" };
    if ((RECURRENCE_PRESETS as string[]).includes(text)) return { kind: text as RecurrencePreset };
    const fields = text.split(/\s+/).length;
    if (fields === 5 || fields === 6) {
      const checked = cron.validateDetailed(text);
      if (checked.valid) return { kind: "cron", expression: text };
      const first = checked.errors[0];
      ctx.addIssue({ code: "custom", message: `is not a valid cron expression${first ? ` (${first.message})` : ""}` });
      return z.NEVER;
    }
    ctx.addIssue({ code: "custom", message: RECURRENCE_HELP });
    return z.NEVER;
  });

const timestamp = z.iso
  .datetime({ offset: true, error: "must be a date and time with a time zone, such as 2026-12-01T09:00:00Z" })
  .transform((iso) => new Date(iso));

const REVIEWERS_HELP = "must be self, manager, or a list of user and group keys";

const reviewers = z.unknown().transform((value, ctx): PimReview["reviewers"] => {
  if (value === undefined) {
    ctx.addIssue({ code: "custom", message: `is required; ${REVIEWERS_HELP.replace("must be ", "")}` });
    return z.NEVER;
  }
  if (value === "self" || value === "manager") return { mode: value, principals: [] };
  if (!Array.isArray(value)) {
    ctx.addIssue({ code: "custom", message: REVIEWERS_HELP });
    return z.NEVER;
  }
  if (value.length === 0) {
    ctx.addIssue({ code: "custom", message: "must list at least one user or group" });
    return z.NEVER;
  }
  const parsed = keyList().safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: "custom", path: issue.path as (string | number)[], message: issue.message });
    return z.NEVER;
  }
  return { mode: "named", principals: parsed.data };
});

const durationText = z.string({ error: "must be a duration such as 7d or 12h" });

export const reviewSchema = z
  .strictObject({
    name: key,
    title: z.string().trim().min(1, "must not be empty").optional(),
    roles: keyList().default([]),
    groups: keyList().default([]),
    memberships: keyList().default([]),
    kinds: z
      .array(z.enum(["eligible", "active"]))
      .min(1, "must list at least one of: eligible, active")
      .default(["eligible", "active"]),
    recurrence,
    start: timestamp.optional(),
    timezone: z
      .string()
      .default("UTC")
      .refine(isValidTimeZone, "must be an IANA time zone such as UTC, Europe/Paris or America/New_York"),
    duration: durationText.optional(),
    reviewers,
    fallbackReviewers: keyList().default([]),
    unanswered: z.enum(["keep", "remove", "recommendation"]).default("keep"),
    inactiveDays: z.int().min(1).max(365).default(30),
    autoApply: z.boolean().default(true),
    reminders: z.array(durationText).default(["1d"]),
  })
  .transform((r, ctx): PimReview => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const kind = r.recurrence.kind;
    if (r.roles.length === 0 && r.groups.length === 0 && r.memberships.length === 0)
      issue(["roles"], "must name at least one role (or list groups, or memberships) whose assignments are reviewed");

    let durationMs = DEFAULT_REVIEW_DURATION_MS[kind];
    if (r.duration !== undefined) {
      const parsed = parseDuration(r.duration);
      if (!parsed.ok) issue(["duration"], parsed.error);
      else if (parsed.value < MIN_REVIEW_DURATION_MS) issue(["duration"], "must be at least 1h");
      else if (parsed.value > MAX_REVIEW_DURATION_MS[kind])
        issue(["duration"], `must be at most ${days(MAX_REVIEW_DURATION_MS[kind])} for a ${kind} review`);
      else durationMs = parsed.value;
    }

    if (r.start === undefined && kind !== "cron")
      issue(
        ["start"],
        `is required for a ${kind} review: it is when the ${kind === "one-time" ? "review" : "first one"} starts`,
      );
    if (r.start && kind !== "one-time" && kind !== "cron" && kind !== "weekly") {
      const day = wallClock(r.start, r.timezone).day;
      if (day > 28)
        issue(
          ["start"],
          `falls on day ${day} in ${r.timezone}; a ${kind} review must start on day 1 to 28, so that every period has one`,
        );
    }

    const remindersMs: number[] = [];
    r.reminders.forEach((written, i) => {
      const problem = reminderProblem(written, durationMs, remindersMs);
      if (typeof problem === "string") issue(["reminders", i], problem);
      else remindersMs.push(problem);
    });

    return {
      name: r.name,
      title: r.title ?? `Access review: ${r.name}`,
      roles: r.roles,
      groups: r.groups,
      memberships: r.memberships,
      kinds: [...new Set(r.kinds)],
      recurrence: r.recurrence,
      start: r.start ?? null,
      timezone: r.timezone,
      durationMs,
      reviewers: r.reviewers,
      fallbackReviewers: r.fallbackReviewers,
      unanswered: r.unanswered,
      inactiveDays: r.inactiveDays,
      autoApply: r.autoApply,
      remindersMs: remindersMs.sort((a, b) => b - a),
    };
  });

/** A reminder's offset in ms, or why it cannot be one. */
function reminderProblem(written: string, durationMs: number, taken: number[]): number | string {
  const parsed = parseDuration(written);
  if (!parsed.ok) return parsed.error;
  if (parsed.value < MINUTE) return "must be at least 1m";
  if (parsed.value >= durationMs) return `must be shorter than the review itself (${formatDuration(durationMs)})`;
  if (taken.includes(parsed.value)) return `"${written}" is listed twice`;
  return parsed.value;
}

function days(ms: number): string {
  return ms % DAY === 0 ? `${ms / DAY}d` : formatDuration(ms);
}

type Report = (path: (string | number)[], message: string) => void;

/** Names in `reviews:` that refer to nothing, or to the wrong kind of thing; repeated review names. */
export function checkReviews(
  reviews: PimReview[],
  names: { users: Set<string>; groups: Set<string>; roles: Set<string> },
  report: Report,
): void {
  const seen = new Map<string, number>();
  reviews.forEach((review, i) => {
    const at = (...rest: (string | number)[]) => ["reviews", i, ...rest];
    const first = seen.get(review.name);
    if (first === undefined) seen.set(review.name, i);
    else report(at("name"), `"${review.name}" is already used by reviews[${first}]`);

    review.roles.forEach((role, j) => {
      if (!names.roles.has(role)) report(at("roles", j), `unknown role "${role}"${didYouMean(role, names.roles)}`);
    });
    review.groups.forEach((group, j) => {
      if (names.groups.has(group)) return;
      const message = names.users.has(group)
        ? `"${group}" is a user; list groups here (review a user's roles under roles)`
        : `unknown group "${group}"${didYouMean(group, names.groups)}`;
      report(at("groups", j), message);
    });
    const principal = (name: string, path: (string | number)[]) => {
      if (!names.users.has(name) && !names.groups.has(name))
        report(path, `unknown user or group "${name}"${didYouMean(name, [...names.users, ...names.groups])}`);
    };
    review.reviewers.principals.forEach((name, j) => {
      principal(name, at("reviewers", j));
    });
    review.fallbackReviewers.forEach((name, j) => {
      principal(name, at("fallbackReviewers", j));
    });
  });
}
