import type { Executor } from "../../db/client.js";
import { type AlertFilter, type AlertRow, getAlertRow, newestAlertRows } from "../../db/repos/alerts.js";
import { principalsByKeys } from "../../db/repos/directory.js";
import type { AlertRecord, AlertStatus } from "../../domain/notices.js";
import { person } from "../activation/views.js";

export { countOpenAlerts } from "../../db/repos/alerts.js";
export type { AlertFilter, AlertRecord, AlertRow, AlertStatus };

export async function toAlertRecords(db: Executor, rows: AlertRow[]): Promise<AlertRecord[]> {
  const keys = [...new Set(rows.map((r) => r.acknowledgedBy).filter((k): k is string => k !== null))];
  const people = await principalsByKeys(db, keys);
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
  const row = await getAlertRow(db, id);
  return row ? (await toAlertRecords(db, [row]))[0] : undefined;
}

/** Newest first. */
export async function listAlerts(db: Executor, filter: AlertFilter = {}): Promise<AlertRecord[]> {
  return toAlertRecords(db, await newestAlertRows(db, filter));
}
