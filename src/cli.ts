#!/usr/bin/env node
import { userInfo } from "node:os";
import { runCli } from "./cli/main.js";
import { parseEnv } from "./config/env.js";

/** The `pim` command line's entry: reads the settings once, runs one command, exits with its code. */
async function main(): Promise<number> {
  const parsed = parseEnv(process.env);
  if (!parsed.ok) {
    console.error(parsed.message);
    return 1;
  }
  const env = parsed.env;
  return runCli(
    process.argv.slice(2),
    {
      databaseUrl: env.DATABASE_URL,
      pgliteDir: env.PGLITE_DIR,
      pimConfig: env.PIM_CONFIG,
      operator: operatorName(),
      migrationDatabaseUrl: env.MIGRATION_DATABASE_URL,
      checkpointKey: env.AUDIT_CHECKPOINT_KEY,
      env,
    },
    {
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
      stdout: process.stdout,
    },
  );
}

function operatorName(): string {
  try {
    return userInfo().username || "operator";
  } catch {
    return "operator";
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
