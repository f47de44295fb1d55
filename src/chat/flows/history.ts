/**
 * History for everyone: `history` (my requests of the last 90 days and how each ended),
 * `approvals` (the decisions I made), and for administrators and the auditors pim.yaml names,
 * `audit [filters]` (the newest matching audit events) and `audit export [filters]` (all of them as
 * a CSV file, the same as `pim audit export` gives, put in the reader's direct chat with the bot).
 * Who may read the audit log is the use cases' call; every refusal is audited there.
 */
import { type AuditTerms, auditExportFilter, auditFromChat, checkAuditReader } from "../../app/admin/audit-filter.js";
import { HISTORY_DAYS, myDecisionHistory, myRequestHistory } from "../../app/admin/history.js";
import { decisionHistoryCard, requestHistoryCard } from "../views/history.js";
import { AUDIT_SHOWN, auditEventsCard } from "../views/history-audit.js";
import { parseAuditFilter } from "./audit-filter.js";
import type { Acting, FlowContext } from "./interaction.js";

const asActor = (ix: Acting) => ({ kind: "person" as const, id: ix.me.id });

/** `history`: my requests of the last 90 days, newest first, each role with its outcome. */
export async function historyCommand(ctx: FlowContext, ix: Acting): Promise<void> {
  const items = await myRequestHistory(ctx.deps, ix.me.id);
  await ix.reply(requestHistoryCard(items, HISTORY_DAYS, ctx.command));
}

/** `approvals`: the decisions I made in the last 90 days, newest first. */
export async function approvalsCommand(ctx: FlowContext, ix: Acting): Promise<void> {
  const items = await myDecisionHistory(ctx.deps, ix.me.id);
  await ix.reply(decisionHistoryCard(items, HISTORY_DAYS, ctx.command));
}

/** `audit [filters]` and `audit export [filters]`. */
export async function auditCommand(ctx: FlowContext, ix: Acting, args: string): Promise<void> {
  const [first = "", ...rest] = args.trim().split(/\s+/);
  const exporting = first.toLowerCase() === "export";
  const typed = (exporting ? rest.join(" ") : args).trim();
  const terms = parseAuditFilter(typed, ctx.deps.clock.now());
  if (!terms.ok) {
    // Who may not read the log is refused as such, whatever they typed.
    const reader = await checkAuditReader(ctx.deps, asActor(ix), exporting ? "audit.export" : "audit.query");
    if (!reader.ok) return ix.reply(reader.error.message);
    return ix.reply([
      terms.error,
      " Filters: ",
      { code: "person:<who> role:<role> event:<name> since:<date or 7d> until:<date>" },
      ".",
    ]);
  }
  if (exporting) return exportAudit(ctx, ix, typed, terms.value);
  const found = await auditFromChat(ctx.deps, asActor(ix), ix.platform, terms.value, AUDIT_SHOWN);
  if (!found.ok) return ix.reply(found.error.message);
  await ix.reply(auditEventsCard(found.value.rows, found.value.more, typed, ctx.command));
}

async function exportAudit(ctx: FlowContext, ix: Acting, typed: string, terms: AuditTerms): Promise<void> {
  const filter = await auditExportFilter(ctx.deps, asActor(ix), ix.platform, terms);
  if (!filter.ok) return ix.reply(filter.error.message);
  const exported = await ctx.ports.exportAudit(ix.me.id, filter.value);
  if (!exported.ok) return ix.reply(exported.error.message);
  const stamp = ctx.deps.clock.now().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
  await ix.sendFile({
    filename: `pim-audit-${stamp}.csv`,
    title: "Audit log export",
    contentType: "text/csv; charset=utf-8",
    content: exported.value.csv,
    note: `${exported.value.rows} audit events${typed ? ` matching ${typed}` : ""}, as CSV (the same rows as pim audit export gives).`,
  });
}
