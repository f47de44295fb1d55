import { and, count, desc, eq, inArray, ne } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { alerts } from "../db/schema/alerts.js";
import { principals } from "../db/schema/principals.js";
import type { Severity } from "../domain/alert-rules.js";
import type { AlertRecord, AlertStatus } from "../domain/notices.js";
import { person } from "./queries.js";

export type { AlertRecord, AlertStatus };

export type AlertRow = typeof alerts.$inferSelect;

export async function toAlertRecords(db: Executor, rows: AlertRow[]): Promise<AlertRecord[]> {
  const keys = [...new Set(rows.map((r) => r.acknowledgedBy).filter((k): k is string => k !== null))];
  const people = keys.length === 0 ? [] : await db.select().from(principals).where(inArray(principals.key, keys));
  const byKey = new Map(people.map((p) => [p.key, person(p)]));
  return rows.map((r) => ({
    id: r.id,
    rule: r.rule,
    conditionKey: r.conditionKey,
    severity: r.severity,
    title: r.title,
    text: r.text,
    subject: r.subject,
    fields: r.details.fields,
    status: r.status,
    openedAt: r.openedAt,
    lastSeenAt: r.lastSeenAt,
    acknowledgedBy: r.acknowledgedBy
      ? (byKey.get(r.acknowledgedBy) ?? {
          id: r.acknowledgedBy,
          key: r.acknowledgedBy,
          name: r.acknowledgedBy,
          email: null,
          slackId: null,
          teamsId: null,
        })
      : null,
    acknowledgedAt: r.acknowledgedAt,
    resolvedAt: r.resolvedAt,
    occurrences: r.occurrences,
    lastOccurredAt: r.lastOccurredAt,
  }));
}

export async function getAlert(db: Executor, id: string): Promise<AlertRecord | undefined> {
  const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
  return row ? (await toAlertRecords(db, [row]))[0] : undefined;
}

export interface AlertFilter {
  status?: AlertStatus[];
  severity?: Severity[];
  limit?: number;
}

/** Newest first. */
export async function listAlerts(db: Executor, filter: AlertFilter = {}): Promise<AlertRecord[]> {
  const rows = await db
    .select()
    .from(alerts)
    .where(
      and(
        filter.status && filter.status.length > 0 ? inArray(alerts.status, filter.status) : undefined,
        filter.severity && filter.severity.length > 0 ? inArray(alerts.severity, filter.severity) : undefined,
      ),
    )
    .orderBy(desc(alerts.openedAt), desc(alerts.id))
    .limit(filter.limit ?? 500);
  return toAlertRecords(db, rows);
}

/** Unresolved alerts by severity, for the dashboard and the digest. */
export async function countOpenAlerts(db: Executor): Promise<Record<Severity, number>> {
  const rows = await db
    .select({ severity: alerts.severity, n: count() })
    .from(alerts)
    .where(ne(alerts.status, "resolved"))
    .groupBy(alerts.severity);
  const out: Record<Severity, number> = { low: 0, medium: 0, high: 0 };
  for (const r of rows) out[r.severity] = Number(r.n);
  return out;
}
