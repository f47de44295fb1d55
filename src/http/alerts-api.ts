import type { AlertRecord, AlertStatus } from "../app/alerts/records.js";
import { listAlerts } from "../app/alerts/records.js";
import type { Executor } from "../db/client.js";
import type { Severity } from "../domain/alert-rules.js";
import { bearerCheck } from "./bearer.js";
import { type HttpServer, sendJson } from "./server.js";

const STATUSES: AlertStatus[] = ["open", "acknowledged", "resolved"];
const SEVERITIES: Severity[] = ["low", "medium", "high"];
const MAX_LIMIT = 1_000;

/**
 * `GET /api/alerts` for other tools (SIEMs, dashboards): JSON, newest first, behind a bearer
 * token (ALERTS_API_TOKEN). Not mounted at all when no token is configured.
 * Filters: `status` and `severity` (comma-separated lists), `limit` (1–1000, default 500).
 */
export function mountAlertsApi(http: HttpServer, db: Executor, token: string | undefined): boolean {
  if (!token) return false;
  const authorized = bearerCheck(token);
  http.route("GET", "/api/alerts", async (req, res) => {
    if (!authorized(req.headers.authorization)) {
      res.setHeader("www-authenticate", 'Bearer realm="pim-bot alerts"');
      return sendJson(res, 401, { error: "unauthorized", message: "Send Authorization: Bearer <ALERTS_API_TOKEN>." });
    }
    const query = new URL(req.url ?? "/", "http://local").searchParams;
    const status = listParam(query.get("status"), STATUSES, "status");
    const severity = listParam(query.get("severity"), SEVERITIES, "severity");
    const limit = limitParam(query.get("limit"));
    const problem = [status, severity, limit].find((p) => "error" in p);
    if (problem && "error" in problem) return sendJson(res, 400, { error: "bad_request", message: problem.error });
    const alerts = await listAlerts(db, {
      status: (status as { value: AlertStatus[] }).value,
      severity: (severity as { value: Severity[] }).value,
      limit: (limit as { value: number }).value,
    });
    return sendJson(res, 200, { alerts: alerts.map(toJson), count: alerts.length });
  });
  return true;
}

function listParam<T extends string>(
  raw: string | null,
  allowed: T[],
  name: string,
): { value: T[] } | { error: string } {
  if (raw === null || raw.trim() === "") return { value: [] };
  const values = raw.split(",").map((v) => v.trim().toLowerCase());
  const bad = values.find((v) => !allowed.includes(v as T));
  if (bad !== undefined)
    return {
      error: `${name} must be one or more of ${allowed.join(", ")} (comma-separated); got "${bad.slice(0, 40)}"`,
    };
  return { value: values as T[] };
}

function limitParam(raw: string | null): { value: number } | { error: string } {
  if (raw === null || raw.trim() === "") return { value: 500 };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    return { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` };
  return { value: n };
}

function toJson(a: AlertRecord) {
  return {
    id: a.id,
    rule: a.rule,
    condition: a.conditionKey,
    severity: a.severity,
    status: a.status,
    title: a.title,
    text: a.text,
    subject: a.subject,
    fields: a.fields,
    openedAt: a.openedAt.toISOString(),
    lastSeenAt: a.lastSeenAt.toISOString(),
    acknowledgedBy: a.acknowledgedBy?.key ?? null,
    acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
  };
}
