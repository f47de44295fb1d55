import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import { auditHistory, exportAuditFor } from "../../app/admin/history.js";
import { checkAgainstCheckpointFile } from "../../audit/verify-checkpoint.js";
import type { AuditFilter } from "../../db/audit-log.js";
import { verifyAuditChain } from "../../db/audit-log.js";
import { count, date, list, type Parsed, text } from "../args.js";
import { type Command, refused } from "../command.js";
import { EXIT, type Io, json, table } from "../output.js";

const FILTER_OPTIONS = {
  from: { type: "string" },
  to: { type: "string" },
  principal: { type: "string" },
  role: { type: "string" },
  event: { type: "string", multiple: true },
  request: { type: "string" },
} as const;

function filterOf(args: Parsed): AuditFilter {
  const filter: AuditFilter = {};
  const from = date(args.values, "from");
  const to = date(args.values, "to");
  if (from) filter.from = from;
  if (to) filter.to = to;
  const principal = text(args.values, "principal");
  const role = text(args.values, "role");
  const event = list(args.values, "event");
  const request = text(args.values, "request");
  if (principal) filter.principal = principal;
  if (role) filter.role = role;
  if (event?.length) filter.event = event;
  if (request) filter.requestId = request;
  return filter;
}

export const auditQuery: Command = {
  name: "audit query",
  synopsis: "[--from ISO] [--to ISO] [--principal KEY] [--role KEY] [--event NAME]... [--limit N]",
  summary: "the newest audit events matching the filter (default 50)",
  options: { ...FILTER_OPTIONS, limit: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const filter = filterOf(args);
    const { deps, actor } = await ctx.session();
    const rows = await auditHistory(deps, actor, { ...filter, limit: count(args.values, "limit") });
    if (!rows.ok) return refused(ctx, args, rows.error);
    if (args.json) ctx.io.out(json(rows.value));
    else
      ctx.io.out(
        table(
          ["id", "time", "event", "actor", "subject", "role", "scope"],
          rows.value.map((e) => [e.id, e.at, e.event, e.actor, e.subject, e.role, e.scope]),
        ),
      );
    return EXIT.ok;
  },
};

export const auditExport: Command = {
  name: "audit export",
  synopsis: "[--from ISO] [--to ISO] [--principal KEY] [--role KEY] [--event NAME]... [--request ID] [--out FILE]",
  summary: "stream the audit log as CSV to stdout or --out FILE (progress on stderr)",
  options: { ...FILTER_OPTIONS, out: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const filter = filterOf(args);
    const { deps, actor, handle } = await ctx.session();
    const file = text(args.values, "out");
    const fileStream = file ? createWriteStream(file) : null;
    const progress = counting(ctx.io);
    progress.pipe(fileStream ?? ctx.io.stdout, { end: fileStream !== null });
    const done = await exportAuditFor(deps, handle, actor, filter, progress);
    await new Promise<void>((resolve, reject) => {
      if (!fileStream) {
        progress.end(() => resolve());
        return;
      }
      fileStream.once("finish", () => resolve());
      fileStream.once("error", reject);
      progress.end();
    });
    if (!done.ok) return refused(ctx, args, done.error);
    ctx.io.err(`Exported ${done.value.rows} events${file ? ` to ${file}` : ""}.`);
    if (args.json && file) ctx.io.out(json({ ok: true, rows: done.value.rows, file }));
    return EXIT.ok;
  },
};

/** Passes the CSV through, telling stderr how far it got every 100,000 rows. */
function counting(io: Io): Transform {
  let lines = 0;
  let told = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (const byte of chunk) if (byte === 10) lines++;
      if (lines - told >= 100_000) {
        told = lines - (lines % 100_000);
        io.err(`… ${told.toLocaleString("en")} rows`);
      }
      done(null, chunk);
    },
  });
}

export const auditVerify: Command = {
  name: "audit verify",
  synopsis: "[--checkpoint FILE]",
  summary:
    "walk the audit log's hash chains and report the first broken link (exit 1 when broken); --checkpoint FILE also checks the lane heads against the latest signed checkpoint in FILE (a checkpoint, or the audit stream's JSON lines) with AUDIT_CHECKPOINT_KEY",
  options: { checkpoint: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const { handle } = await ctx.session();
    const report = await verifyAuditChain(handle);
    const file = text(args.values, "checkpoint");
    const checked =
      report.ok && file ? await checkAgainstCheckpointFile(handle.db, file, ctx.settings.checkpointKey) : null;
    const ok = report.ok && (checked === null || checked.ok);
    if (args.json) ctx.io.out(json({ ...report, ...(checked ? { checkpoint: checked } : {}), ok }));
    else if (!report.ok) {
      const b = report.brokenAt;
      ctx.io.err(
        `Audit log BROKEN at event ${b.id} (${b.reason}): expected ${b.expected}, found ${b.found}. ${report.checked} events before it are sound.`,
      );
    } else if (checked && !checked.ok) ctx.io.err(checked.message);
    else
      ctx.io.out(
        `Audit log intact: ${report.checked} events, last hash ${report.lastHash}${checked ? `; ${checked.message}` : ""}`,
      );
    return ok ? EXIT.ok : EXIT.failure;
  },
};
