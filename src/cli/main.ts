/**
 * The `pim` command line: the operator's commands on the database and policy file the bot uses.
 * Tables for people, `--json` for scripts; exit 0 (ok), 1 (failure or refusal), 2 (usage).
 */
import { parse } from "./args.js";
import type { Command } from "./command.js";
import { activationsEnd, activationsList } from "./commands/activations.js";
import { alertsAck, alertsList } from "./commands/alerts.js";
import {
  assignmentsAdd,
  assignmentsExtend,
  assignmentsList,
  assignmentsRemove,
  assignmentsRestore,
} from "./commands/assignments.js";
import { auditExport, auditQuery, auditVerify } from "./commands/audit.js";
import { mfaInvite, mfaRekey, mfaReset } from "./commands/mfa.js";
import { apply, check } from "./commands/policy.js";
import { reviewsClose, reviewsList, reviewsStart } from "./commands/reviews.js";
import { status } from "./commands/status.js";
import { EXIT, type Io, UsageError } from "./output.js";
import { type CliSettings, openSession, type Session } from "./session.js";

export const COMMANDS: Command[] = [
  check,
  apply,
  status,
  assignmentsList,
  assignmentsAdd,
  assignmentsRemove,
  assignmentsExtend,
  assignmentsRestore,
  activationsList,
  activationsEnd,
  reviewsList,
  reviewsStart,
  reviewsClose,
  alertsList,
  alertsAck,
  auditQuery,
  auditExport,
  auditVerify,
  mfaInvite,
  mfaReset,
  mfaRekey,
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: pim <command> [options]        (from a checkout: npm run pim -- <command>)",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --json (machine-readable output) and --help.",
    "Exit codes: 0 ok, 1 failure or refusal, 2 wrong usage.",
    "The database is DATABASE_URL when set, else the embedded one in PGLITE_DIR (default ./data);",
    "the policy file is PIM_CONFIG (default ./pim.yaml). Changes are audited as cli:<your login>.",
  ].join("\n");
}

function commandUsage(c: Command): string {
  return `Usage: pim ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""} [--json]\n\n  ${c.summary}`;
}

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: string[], settings: CliSettings, io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    io.out(usage());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (!command) {
    const family = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    io.err(
      family.length > 0
        ? `pim ${argv[0]}: unknown subcommand${argv[1] ? ` "${argv[1]}"` : ""}\n\n${family.map(commandUsage).join("\n\n")}`
        : `pim: unknown command "${argv[0]}"\n\n${usage()}`,
    );
    return EXIT.usage;
  }
  const rest = argv.slice(command.name.split(" ").length);
  let session: Session | undefined;
  try {
    const args = parse(rest, command.options, command.positionals);
    if (args.help) {
      io.out(commandUsage(command));
      return EXIT.ok;
    }
    return await command.run(args, {
      settings,
      io,
      session: async () => {
        session ??= await openSession(settings);
        return session;
      },
    });
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`pim ${command.name}: ${error.message}\n\n${commandUsage(command)}`);
      return EXIT.usage;
    }
    throw error;
  } finally {
    if (session && !settings.database) await session.handle.close();
  }
}
