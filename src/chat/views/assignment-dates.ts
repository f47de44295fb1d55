import { DAY } from "../../domain/duration.js";
import { clock } from "./card.js";

/** A day and time as assignment cards show them: "2026-12-02 09:00 UTC". */
export const onDay = (time: Date): string => `${time.toISOString().slice(0, 10)} ${clock(time)}`;

/** How far off an end is, in whole days: "tomorrow", "in 14 days", "today". */
export function daysAway(ms: number): string {
  const days = Math.round(ms / DAY);
  if (days <= 0) return "today";
  return days === 1 ? "tomorrow" : `in ${days} days`;
}

/** How long ago an end was: "yesterday", "3 days ago", "today". */
export function daysAgo(ms: number): string {
  const days = Math.floor(ms / DAY);
  if (days <= 0) return "today";
  return days === 1 ? "yesterday" : `${days} days ago`;
}
