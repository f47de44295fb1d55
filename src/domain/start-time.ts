/**
 * A scheduled start as people type it in a form or a command: empty or "now" for now, "in 2h",
 * or a date and time ("2026-12-06 09:00", read as UTC unless it names an offset).
 */
import { parseDuration } from "./duration.js";
import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*(Z|UTC|[+-]\d{2}:\d{2})?$/i;

export const START_EXAMPLES = "in 2h, or 2026-12-06 09:00 (UTC)";

export function parseStart(text: string | null, now: Date): Result<Date | null, Refusal> {
  const typed = text?.trim() ?? "";
  if (typed === "" || typed.toLowerCase() === "now") return ok(null);
  const unreadable = () =>
    err(refuse("START_INVALID", `I can't read "${typed.slice(0, 40)}" as a start: write ${START_EXAMPLES}.`));
  const relative = /^in\s+(.+)$/i.exec(typed);
  if (relative) {
    const ms = parseDuration(relative[1]!.replace(/\s+/g, ""));
    return ms.ok ? ok(new Date(now.getTime() + ms.value)) : unreadable();
  }
  const m = DATE_TIME.exec(typed);
  if (!m) return unreadable();
  const [, y, mo, d, h, mi, s, zone] = m;
  const offset = !zone || /^(z|utc)$/i.test(zone) ? "Z" : zone;
  const at = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s ?? "00"}${offset}`);
  // Date accepts 2026-02-31 and rolls it over; a calendar date must read back as typed.
  if (Number.isNaN(at.getTime()) || !sameCalendarDate(at, offset, `${y}-${mo}-${d}`, Number(h), Number(mi)))
    return unreadable();
  return ok(at);
}

function sameCalendarDate(at: Date, offset: string, date: string, hour: number, minute: number): boolean {
  const shift =
    offset === "Z"
      ? 0
      : (offset.startsWith("-") ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
  const local = new Date(at.getTime() + shift * 60_000);
  return local.toISOString().slice(0, 10) === date && local.getUTCHours() === hour && local.getUTCMinutes() === minute;
}
