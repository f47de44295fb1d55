import { acknowledgeAlert } from "../../app/alerts/evaluate.js";
import { listAlerts } from "../../app/alerts/records.js";
import { principalByKey } from "../../db/repos/directory.js";
import { count, list, text } from "../args.js";
import { type Command, refused } from "../command.js";
import { EXIT, json, table, UsageError } from "../output.js";

const STATUSES = ["open", "acknowledged", "resolved"] as const;
const SEVERITIES = ["low", "medium", "high"] as const;

export const alertsList: Command = {
  name: "alerts list",
  synopsis: "[--status open,acknowledged,resolved] [--severity low,medium,high] [--limit N]",
  summary: "security alerts, newest first (default: open and acknowledged)",
  options: { status: { type: "string" }, severity: { type: "string" }, limit: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const status = checked(list(args.values, "status") ?? ["open", "acknowledged"], STATUSES, "status");
    const severity = checked(list(args.values, "severity") ?? [], SEVERITIES, "severity");
    const { deps } = await ctx.session();
    const alerts = await listAlerts(deps.db, { status, severity, limit: count(args.values, "limit") });
    if (args.json) ctx.io.out(json(alerts));
    else
      ctx.io.out(
        table(
          ["id", "severity", "status", "title", "opened", "acknowledged by"],
          alerts.map((a) => [a.id, a.severity, a.status, a.title, a.openedAt, a.acknowledgedBy?.key]),
        ),
      );
    return EXIT.ok;
  },
};

export const alertsAck: Command = {
  name: "alerts ack",
  synopsis: "<alert-id> --as ADMIN_KEY",
  summary: "acknowledge an alert on behalf of a pim-bot administrator",
  options: { as: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const as = text(args.values, "as");
    if (!as) throw new UsageError("--as ADMIN_KEY is required: alerts are acknowledged by an administrator");
    const { deps } = await ctx.session();
    const admin = await principalByKey(deps.db, as);
    if (!admin) return refused(ctx, args, { code: "UNKNOWN_PRINCIPAL", message: `There is no user "${as}".` });
    const done = await acknowledgeAlert(deps, args.positionals[0]!, admin.id);
    if (!done.ok) return refused(ctx, args, done.error);
    if (args.json) ctx.io.out(json({ ok: true, alert: done.value }));
    else ctx.io.out(`${done.value.id} acknowledged by ${done.value.acknowledgedBy?.name ?? as}.`);
    return EXIT.ok;
  },
};

function checked<T extends string>(values: string[], allowed: readonly T[], name: string): T[] {
  for (const v of values)
    if (!(allowed as readonly string[]).includes(v))
      throw new UsageError(`--${name} takes ${allowed.join(", ")}, not "${v}"`);
  return values as T[];
}
