/**
 * The filter typed after `audit` and `audit export`: words of the form `name:value`, in any order.
 *
 *   person:<key | e-mail | @mention>   events the person did, was the subject of, or approved
 *   role:<key | name>                  events about the role (a name with spaces in quotes)
 *   event:<name | prefix>              events of that name, or whose names start with it (repeatable)
 *   since:<when>                       events at or after it
 *   until:<when>                       events before it; a bare date counts the whole day
 *
 * `when` is a date (2026-12-01, midnight UTC), a time (2026-12-01T14:30Z, 2026-12-01T14:30+01:00)
 * or a length of time back from now (90m, 12h, 7d, 2w). Nothing typed means every event.
 */
import type { AuditTerms } from "../../app/admin/audit-filter.js";
import type { PersonReference } from "../../app/admin/revocable.js";
import { DAY, parseDuration } from "../../domain/duration.js";
import { err, ok, type Result } from "../../domain/result.js";

export const FILTER_NAMES = ["person", "role", "event", "since", "until"] as const;
type FilterName = (typeof FILTER_NAMES)[number];

/** Words as typed: whitespace separates them, except inside quotes and inside a platform's `<…>` mention. */
export function filterWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inQuotes = false;
  let inMention = false;
  for (const ch of text.replace(/[\u201c\u201d]/g, '"')) {
    if (inQuotes) {
      if (ch === '"') inQuotes = false;
      else word += ch;
    } else if (inMention) {
      word += ch;
      inMention = ch !== ">";
    } else if (ch === '"') inQuotes = true;
    else if (/\s/.test(ch)) {
      if (word) words.push(word);
      word = "";
    } else {
      word += ch;
      inMention = ch === "<";
    }
  }
  if (word) words.push(word);
  return words;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** A point in time as typed; `endOfDay` reads a bare date as the end of that day (for `until`). */
export function parseWhen(text: string, now: Date, endOfDay = false): Result<Date, string> {
  const date = DATE.exec(text);
  if (date) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number];
    const start = new Date(Date.UTC(y, m - 1, d));
    if (start.getUTCFullYear() !== y || start.getUTCMonth() !== m - 1 || start.getUTCDate() !== d)
      return err(`"${text}" is not a day of the calendar`);
    return ok(endOfDay ? new Date(start.getTime() + DAY) : start);
  }
  if (TIME.test(text)) {
    const time = new Date(text);
    return Number.isNaN(time.getTime()) ? err(`"${text}" is not a time`) : ok(time);
  }
  if (/^\d/.test(text)) {
    const back = parseDuration(text);
    if (back.ok) return ok(new Date(now.getTime() - back.value));
  }
  return err(`"${text}" is not a date (2026-12-01), a time (2026-12-01T14:30Z) or a length of time back (7d, 12h)`);
}

/**
 * Reads the filter; the error names the word that is wrong and says what would be right. Who a
 * person or role is, and which events a name stands for, is looked up afterwards.
 */
export function parseAuditFilter(text: string, now: Date): Result<AuditTerms, string> {
  const terms: AuditTerms = {};
  // PostgreSQL text cannot hold U+0000, so no name in the log has it.
  if (text.includes("\u0000"))
    return err("The filter contains a NUL character (U+0000), which no name can hold: remove it and try again.");
  for (const word of filterWords(text)) {
    const colon = word.indexOf(":");
    const name = (colon > 0 ? word.slice(0, colon) : "").toLowerCase() as FilterName;
    const value = colon > 0 ? word.slice(colon + 1).trim() : "";
    if (!FILTER_NAMES.includes(name))
      return err(
        `I don't understand "${cut(word)}": filter with ${FILTER_NAMES.map((n) => `${n}:`).join(", ")} (for example person:alice since:7d).`,
      );
    if (value === "")
      return err(`"${cut(word)}" names no ${name}: write it right after the colon, as ${example(name)}.`);
    if (name === "event") {
      terms.events = [...(terms.events ?? []), value];
      continue;
    }
    const once = name === "since" ? "from" : name === "until" ? "to" : name;
    if (terms[once] !== undefined) return err(`${name}: is given twice; give it once.`);
    if (name === "person") terms.person = personOf(value);
    else if (name === "role") terms.role = value;
    else {
      const when = parseWhen(value, now, name === "until");
      if (!when.ok) return err(`${name}: ${when.error}.`);
      terms[once as "from" | "to"] = when.value;
    }
  }
  if (terms.from && terms.to && terms.from >= terms.to)
    return err("since: is not before until:, so no event could match; swap them or widen the period.");
  return ok(terms);
}

/** A mention as the platform wrote it (`<@U123>`, `<@U123|alice>`, `<mailto:a@b|a@b>`), else a key or an e-mail. */
function personOf(value: string): PersonReference {
  const mention = /^<@([A-Za-z0-9._:-]+)(?:\|[^>]*)?>$/.exec(value);
  if (mention) return { platformId: mention[1]! };
  const mailto = /^<mailto:([^|>\s]+)(?:\|[^>]*)?>$/.exec(value);
  return { text: mailto ? mailto[1]! : value.replace(/^@/, "") };
}

function example(name: FilterName): string {
  switch (name) {
    case "person":
      return "person:alice or person:alice@example.com";
    case "role":
      return 'role:reader or role:"Global Administrator"';
    case "event":
      return "event:approval or event:activation.denied";
    case "since":
      return "since:7d or since:2026-12-01";
    case "until":
      return "until:2026-12-31";
  }
}

const cut = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
