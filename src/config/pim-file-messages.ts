/**
 * Sentences for zod's issues, written for the person editing pim.yaml rather than for a
 * programmer: "must be one of: dm, channel" instead of `Invalid option: expected one of "dm"|"channel"`.
 */
import { z } from "zod";

const EXPECTED: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping of settings",
  date: "a date",
};

/** A zod error map: pass as `schema.safeParse(data, { error: describeIssue })`. */
export function describeIssue(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "is required";
      if (iss.expected === "int" && typeof iss.input === "number") return "must be a whole number";
      return `must be ${EXPECTED[iss.expected] ?? iss.expected}, not ${describeValue(iss.input)}`;
    case "invalid_value":
      if (iss.values.length === 1) return `must be ${String(iss.values[0])}`;
      return `must be one of: ${iss.values.map(String).join(", ")}`;
    case "invalid_union":
      if (iss.discriminator !== undefined && Array.isArray(iss.options)) {
        const options = iss.options.map(String).join(", ");
        return iss.input === undefined ? `is required; one of: ${options}` : `must be one of: ${options}`;
      }
      return undefined;
    case "unrecognized_keys":
      return unknownSettings(iss.keys, iss.inst instanceof z.ZodObject ? Object.keys(iss.inst.shape) : []);
    case "too_small":
      if (iss.origin === "string") return "must not be empty";
      if (iss.origin === "array") return `must list at least ${iss.minimum}`;
      return iss.inclusive ? `must be at least ${iss.minimum}` : `must be more than ${iss.minimum}`;
    case "too_big":
      if (iss.origin === "array") return `must list at most ${iss.maximum}`;
      return iss.inclusive ? `must be at most ${iss.maximum}` : `must be less than ${iss.maximum}`;
    default:
      return undefined;
  }
}

function unknownSettings(keys: string[], known: string[]): string {
  if (keys.length > 1) return `unknown settings ${keys.map((k) => `"${k}"`).join(", ")}`;
  return `unknown setting "${keys[0]}"${didYouMean(keys[0] ?? "", known)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return String(value);
}

/** ` (did you mean "x"?)` when one candidate is a likely typo of `word`, else "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
