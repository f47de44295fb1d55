import { err, ok, type Result } from "./result.js";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PART = /(\d+)\s*([smhdw])/gy;

export const MINUTE = UNIT_MS.m;
export const HOUR = UNIT_MS.h;
export const DAY = UNIT_MS.d;

/** Parses "30m", "8h", "1h30m", "90d", "2w" into milliseconds. */
export function parseDuration(text: string): Result<number, string> {
  const s = text.trim().toLowerCase();
  if (s === "") return err("must be a duration such as 30m, 8h or 90d");
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m !== null; m = PART.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    consumed = PART.lastIndex;
    while (s[consumed] === " ") consumed++;
    PART.lastIndex = consumed;
  }
  if (consumed !== s.length) return err(`"${text}" is not a duration; use forms such as 30m, 8h, 1h30m or 90d`);
  if (total <= 0) return err("must be longer than zero");
  return ok(total);
}

/** Formats milliseconds the way people write durations: 8h, 1h30m, 90d, 45s. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0m";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ["d", DAY],
    ["h", HOUR],
    ["m", MINUTE],
    ["s", 1_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.length > 0 ? parts.join("") : "0m";
}
