import type { Refusal } from "../domain/refusal.js";
import type { Parsed } from "./args.js";
import { EXIT, type Io, json } from "./output.js";
import type { CliSettings, Session } from "./session.js";

export type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

export interface CommandContext {
  settings: CliSettings;
  io: Io;
  /** Opened lazily, so that commands that do not need the database never open it. */
  session(): Promise<Session>;
}

export interface Command {
  /** "assignments add" */
  name: string;
  /** Arguments after the name, as shown in the usage: "<principal> <role> --kind eligible|active …". */
  synopsis: string;
  summary: string;
  options: OptionSpec;
  positionals: { min: number; max: number };
  run(args: Parsed, ctx: CommandContext): Promise<number>;
}

/** Prints a refusal (its sentence, and its code for scripts) and fails. */
export function refused(ctx: CommandContext, args: Parsed, refusal: Refusal): number {
  if (args.json) ctx.io.out(json({ ok: false, code: refusal.code, message: refusal.message }));
  else ctx.io.err(`${refusal.message} (${refusal.code})`);
  return EXIT.failure;
}
