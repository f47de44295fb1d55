import { parseArgs } from "node:util";
import { parseDuration } from "../domain/duration.js";
import { UsageError } from "./output.js";

type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

/** Options every command takes. */
const GLOBAL: OptionSpec = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  json: boolean;
  help: boolean;
}

/** Parses a command's arguments strictly: an unknown option or a missing value is a usage error. */
export function parse(args: string[], options: OptionSpec, positionals: { min: number; max: number }): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]!);
  }
  const values = parsed.values as Parsed["values"];
  if (!values.help && (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max))
    throw new UsageError(
      parsed.positionals.length < positionals.min ? "missing arguments" : `unexpected "${parsed.positionals.at(-1)}"`,
    );
  return { positionals: parsed.positionals, values, json: values.json === true, help: values.help === true };
}

export function text(values: Parsed["values"], name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function list(values: Parsed["values"], name: string): string[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [String(v)]).flatMap((x) => x.split(",")).map((x) => x.trim());
  return items.filter((x) => x !== "");
}

export function date(values: Parsed["values"], name: string): Date | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw new UsageError(`--${name} must be an ISO 8601 time such as 2026-11-01T00:00:00Z, not "${v}"`);
  return d;
}

export function duration(values: Parsed["values"], name: string): number | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (!ms.ok) throw new UsageError(`--${name}: ${ms.error}`);
  return ms.value;
}

export function oneOf<T extends string>(values: Parsed["values"], name: string, allowed: readonly T[]): T | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, not "${v}"`);
  return v as T;
}

export function count(values: Parsed["values"], name: string): number | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a whole number above 0, not "${v}"`);
  return Number(v);
}
