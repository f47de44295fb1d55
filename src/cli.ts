#!/usr/bin/env node
import { createWriteStream } from "node:fs";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { applyConfig } from "./app/apply-config.js";
import { noEvents } from "./app/context.js";
import { systemClock } from "./app/ports.js";
import { checkAgainstCheckpointFile } from "./audit/verify-checkpoint.js";
import { type Env, parseEnv } from "./config/env.js";

import { formatPimFileErrors, loadPimFile } from "./config/pim-file.js";
import { type AuditFilter, exportAuditCsv, verifyAuditChain } from "./db/audit-log.js";
import { type DbHandle, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { inviteToEnroll, resetMfa } from "./mfa/admin.js";
import { enrollmentOf } from "./mfa/service.js";

const USAGE = `Usage: npm run pim -- <command>

  check [file]            validate a policy file (default: PIM_CONFIG) without touching the database
  apply [file]            reconcile a policy file into the database; every change is audited
  audit verify            walk the audit log's hash chain and report the first broken link
      --checkpoint FILE   also check it against the latest signed checkpoint in FILE (a checkpoint,
                          or the audit stream's JSON lines), with AUDIT_CHECKPOINT_KEY
  audit export [options]  stream the audit log as CSV (to stdout, or --out FILE)
      --from ISO  --to ISO  --principal KEY  --role KEY  --event NAME (repeatable)  --request ID
  mfa invite <person>     an enrollment link whose factor counts at once; hand it over yourself, not in chat
  mfa reset <person>      lift a person's MFA lockout and forget their failures (--factors: also remove every factor)

The database is DATABASE_URL when set, else the embedded one in PGLITE_DIR (default ./data).`;

/** A second entry point beside main.ts: the operator's commands, reading the same settings. */
async function run(argv: string[]): Promise<number> {
  const parsedEnv = parseEnv(process.env);
  if (!parsedEnv.ok) return fail(parsedEnv.message);
  const env = parsedEnv.env;
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      principal: { type: "string" },
      role: { type: "string" },
      event: { type: "string", multiple: true },
      request: { type: "string" },
      out: { type: "string" },
      factors: { type: "boolean" },
      checkpoint: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) return say(USAGE, 0);

  if (command === "check") {
    const file = sub ?? env.PIM_CONFIG;
    const loaded = await loadPimFile(file);
    if (!loaded.ok) return fail(`${file} is invalid:\n${formatPimFileErrors(loaded.error)}`);
    return say(
      `${file} is valid: ${loaded.value.roles.length} roles, ${loaded.value.users.length} users, ${loaded.value.assignments.length} assignments`,
      0,
    );
  }

  const handle = await open(env.DATABASE_URL, env.PGLITE_DIR);
  try {
    await runMigrations(handle, env.MIGRATION_DATABASE_URL);
    if (command === "apply") {
      const file = sub ?? env.PIM_CONFIG;
      const loaded = await loadPimFile(file);
      if (!loaded.ok) return fail(`${file} is invalid, nothing was applied:\n${formatPimFileErrors(loaded.error)}`);
      const summary = await applyConfig({ db: handle.db, clock: systemClock, events: noEvents }, loaded.value, "cli");
      return say(
        summary.changes === 0
          ? "Already up to date."
          : `Applied ${summary.changes} changes: ${JSON.stringify(summary.byKind)}`,
        0,
      );
    }
    if (command === "mfa") return await mfaCommand(handle, env, sub, positionals[2], values.factors === true);
    if (command === "audit" && sub === "verify") {
      const report = await verifyAuditChain(handle);
      if (!report.ok) {
        const b = report.brokenAt;
        return fail(
          `Audit log BROKEN at event ${b.id} (${b.reason}): expected ${b.expected}, found ${b.found}. ${report.checked} events before it are sound.`,
        );
      }
      if (values.checkpoint) {
        const checked = await checkAgainstCheckpointFile(handle.db, values.checkpoint, env.AUDIT_CHECKPOINT_KEY);
        if (!checked.ok) return fail(checked.message);
        return say(`Audit log intact: ${report.checked} events, last hash ${report.lastHash}; ${checked.message}`, 0);
      }
      return say(`Audit log intact: ${report.checked} events, last hash ${report.lastHash}`, 0);
    }
    if (command === "audit" && sub === "export") {
      const filter = toFilter(values);
      if (typeof filter === "string") return fail(filter);
      const out = values.out ? createWriteStream(values.out) : process.stdout;
      const { rows } = await exportAuditCsv(handle, filter, out);
      if (values.out)
        await new Promise<void>((resolve, reject) =>
          (out as NodeJS.WritableStream).end(() => resolve()).on?.("error", reject),
        );
      process.stderr.write(`Exported ${rows} events.\n`);
      return 0;
    }
    return fail(`Unknown command "${positionals.join(" ")}".\n\n${USAGE}`);
  } finally {
    await handle.close();
  }
}

async function mfaCommand(
  handle: DbHandle,
  env: Env,
  sub: string | undefined,
  personKey: string | undefined,
  factors: boolean,
): Promise<number> {
  if ((sub !== "invite" && sub !== "reset") || !personKey) return fail(`Usage: pim mfa invite|reset <person>`);
  const deps = { db: handle.db, clock: systemClock, events: noEvents };
  const by = `cli:${userInfo().username}`;
  if (sub === "invite") {
    const settings = { deps, publicUrl: new URL(env.PUBLIC_URL), enrollment: enrollmentOf(env) };
    const invited = await inviteToEnroll(settings, { personKey, by });
    if (!invited.ok) return fail(invited.error.message);
    return say(
      `Invitation for ${personKey}, valid until ${invited.value.expiresAt.toISOString()}. Give it to them yourself, not through chat:\n${invited.value.link}`,
      0,
    );
  }
  const reset = await resetMfa(deps, { personKey, by, factors });
  if (!reset.ok) return fail(reset.error.message);
  const r = reset.value;
  return say(
    `${personKey}: ${r.lockout ? "lockout lifted" : "no lockout in force"}, ${r.failures} failures forgotten${factors ? `, ${r.factorsRemoved} factors removed (invite them to set up a new one)` : ""}.`,
    0,
  );
}

function toFilter(values: {
  from?: string;
  to?: string;
  principal?: string;
  role?: string;
  event?: string[];
  request?: string;
}): AuditFilter | string {
  const filter: AuditFilter = {};
  for (const key of ["from", "to"] as const) {
    const text = values[key];
    if (text === undefined) continue;
    const date = new Date(text);
    if (Number.isNaN(date.getTime()))
      return `--${key} must be an ISO 8601 time such as 2026-11-01T00:00:00Z, not "${text}"`;
    filter[key] = date;
  }
  if (values.principal) filter.principal = values.principal;
  if (values.role) filter.role = values.role;
  if (values.event?.length) filter.event = values.event;
  if (values.request) filter.requestId = values.request;
  return filter;
}

function open(url: string | undefined, dataDir: string): Promise<DbHandle> {
  return url ? openDatabase({ driver: "postgres", url }) : openDatabase({ driver: "pglite", dataDir });
}

function say(text: string, code: number): number {
  console.log(text);
  return code;
}

function fail(text: string): number {
  console.error(text);
  return 1;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
