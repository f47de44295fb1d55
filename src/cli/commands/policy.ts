import { applyConfig } from "../../app/admin/apply-config.js";
import { describeRemoval } from "../../app/admin/declared-removals.js";
import { formatPimFileErrors, loadPimFile } from "../../config/pim-file.js";
import { type AuditRow, queryAudit } from "../../db/audit-log.js";
import { lastAuditEventId } from "../../db/repos/history.js";
import type { Command } from "../command.js";
import { EXIT, json } from "../output.js";

export const check: Command = {
  name: "check",
  synopsis: "[file]",
  summary: "validate a policy file (default: PIM_CONFIG) without touching the database",
  options: {},
  positionals: { min: 0, max: 1 },
  async run(args, ctx) {
    const file = args.positionals[0] ?? ctx.settings.pimConfig;
    const loaded = await loadPimFile(file);
    if (!loaded.ok) {
      if (args.json) ctx.io.out(json({ ok: false, file, errors: loaded.error }));
      else ctx.io.err(`${file} is invalid:\n${formatPimFileErrors(loaded.error)}`);
      return EXIT.failure;
    }
    const c = loaded.value;
    const counts = {
      roles: c.roles.length,
      users: c.users.length,
      groups: c.groups.length,
      assignments: c.assignments.length,
    };
    if (args.json) ctx.io.out(json({ ok: true, file, ...counts }));
    else
      ctx.io.out(`${file} is valid: ${counts.roles} roles, ${counts.users} users, ${counts.assignments} assignments`);
    return EXIT.ok;
  },
};

export const apply: Command = {
  name: "apply",
  synopsis: "[file] [--dry-run]",
  summary: "reconcile a policy file into the database and print what changed (--dry-run: what would change)",
  options: { "dry-run": { type: "boolean" } },
  positionals: { min: 0, max: 1 },
  async run(args, ctx) {
    const file = args.positionals[0] ?? ctx.settings.pimConfig;
    const loaded = await loadPimFile(file);
    if (!loaded.ok) {
      if (args.json) ctx.io.out(json({ ok: false, file, errors: loaded.error }));
      else ctx.io.err(`${file} is invalid, nothing was applied:\n${formatPimFileErrors(loaded.error)}`);
      return EXIT.failure;
    }
    const { deps, actor, handle } = await ctx.session();
    const by = actor.kind === "operator" ? `cli:${actor.name}` : "cli";
    const dryRun = args.values["dry-run"] === true;
    const { summary, changes } = await applyAndCollect(deps, loaded.value, by, dryRun, handle.db);
    const lines = changes.map(describeChange).filter((line) => line !== "");
    const kept = summary.staysRemoved.map(describeRemoval);
    if (args.json) {
      ctx.io.out(
        json({
          ok: true,
          dryRun,
          changes: summary.changes,
          byKind: summary.byKind,
          diff: changes.map((c) => ({
            event: c.event,
            subject: c.subject,
            role: c.role,
            scope: c.scope,
            data: c.data,
          })),
          staysRemoved: summary.staysRemoved,
        }),
      );
      return EXIT.ok;
    }
    const head =
      summary.changes === 0
        ? "Already up to date."
        : `${dryRun ? "Would apply" : "Applied"} ${summary.changes} change${summary.changes === 1 ? "" : "s"}:`;
    ctx.io.out([head, ...lines].join("\n"));
    if (kept.length > 0)
      ctx.io.out(
        ["Declared in the file but kept removed (see `pim assignments restore`):", ...kept.map((k) => `  = ${k}`)].join(
          "\n",
        ),
      );
    return EXIT.ok;
  },
};

class DryRun extends Error {}

/**
 * Applies the file and returns the audit events it appended, which are its diff. A dry run does
 * the same inside a transaction that is then rolled back, so it shows exactly what apply would do.
 */
async function applyAndCollect(
  deps: Parameters<typeof applyConfig>[0],
  config: Parameters<typeof applyConfig>[1],
  by: string,
  dryRun: boolean,
  db: Parameters<typeof applyConfig>[0]["db"],
) {
  if (!dryRun) {
    const before = await maxAuditId(db);
    const summary = await applyConfig(deps, config, by);
    const changes = (await queryAudit(db, { afterId: before })).filter((e) => e.actor === by);
    return { summary, changes };
  }
  let result: { summary: Awaited<ReturnType<typeof applyConfig>>; changes: AuditRow[] } | undefined;
  await db
    .transaction(async (tx) => {
      const before = await maxAuditId(tx as unknown as typeof db);
      const summary = await applyConfig({ ...deps, db: tx as unknown as typeof db }, config, by);
      const changes = (await queryAudit(tx, { afterId: before })).filter((e) => e.actor === by);
      result = { summary, changes };
      throw new DryRun();
    })
    .catch((error: unknown) => {
      if (!(error instanceof DryRun)) throw error;
    });
  return result!;
}

function maxAuditId(db: Parameters<typeof applyConfig>[0]["db"]): Promise<number> {
  return lastAuditEventId(db);
}

const SIGN: Record<string, string> = {
  created: "+",
  added: "+",
  member_added: "+",
  removed: "-",
  member_removed: "-",
  retired: "-",
};

function describeChange(e: AuditRow): string {
  if (e.event === "config.applied" || e.event === "assignment.active_in_force") return "";
  const verb = e.event.slice(e.event.indexOf(".") + 1);
  const sign = SIGN[verb] ?? "~";
  const what = [e.subject, e.role, e.scope].filter((x) => x !== null && x !== undefined).join(" ");
  const data = e.data as Record<string, unknown>;
  const detail =
    "changes" in data
      ? Object.entries(data.changes as Record<string, [unknown, unknown]>)
          .map(([k, [a, b]]) => `${k}: ${short(a)} → ${short(b)}`)
          .join(", ")
      : "group" in data
        ? `${data.relation ?? "member"} of ${data.group}`
        : "kind" in data
          ? String(data.kind)
          : e.event === "settings.updated" && "key" in data
            ? String(data.key)
            : "";
  return `  ${sign} ${e.event}${what ? ` ${what}` : ""}${detail ? ` (${detail})` : ""}`;
}

function short(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "-" : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
