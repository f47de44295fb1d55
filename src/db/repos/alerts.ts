/**
 * Security alerts as stored: opened once per condition, seen again by each evaluation, counted
 * again when an incident recurs, acknowledged by an administrator, resolved when the condition
 * clears, and marked once the alert channel was given them.
 */
import { and, count, desc, eq, inArray, isNotNull, ne, sql } from "drizzle-orm";
import type { Severity } from "../../domain/alert-rules.js";
import type { AlertStatus } from "../../domain/notices.js";
import type { Executor } from "../client.js";
import { alerts } from "../schema/alerts.js";

export type AlertRow = typeof alerts.$inferSelect;
export type NewAlertRow = typeof alerts.$inferInsert;

/** What an evaluation needs to know of an unresolved alert to reconcile it with the conditions. */
export type UnresolvedAlert = Pick<
  AlertRow,
  "id" | "conditionKey" | "rule" | "details" | "status" | "acknowledgedBy" | "occurrences" | "occurrenceKeys"
>;

export async function getAlertRow(tx: Executor, id: string): Promise<AlertRow | undefined> {
  const [row] = await tx.select().from(alerts).where(eq(alerts.id, id));
  return row;
}

export interface AlertFilter {
  status?: AlertStatus[];
  severity?: Severity[];
  limit?: number;
}

/** Newest first. */
export async function newestAlertRows(tx: Executor, filter: AlertFilter = {}): Promise<AlertRow[]> {
  return tx
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
}

/** Unresolved alerts by severity, for the dashboard and the digest. */
export async function countOpenAlerts(tx: Executor): Promise<Record<Severity, number>> {
  const rows = await tx
    .select({ severity: alerts.severity, n: count() })
    .from(alerts)
    .where(ne(alerts.status, "resolved"))
    .groupBy(alerts.severity);
  const out: Record<Severity, number> = { low: 0, medium: 0, high: 0 };
  for (const r of rows) out[r.severity] = Number(r.n);
  return out;
}

/** The most severe unresolved alerts, newest first within a severity, at most `limit`. */
export async function mostSevereOpenAlerts(
  tx: Executor,
  limit: number,
): Promise<Pick<AlertRow, "title" | "severity" | "openedAt">[]> {
  return tx
    .select({ title: alerts.title, severity: alerts.severity, openedAt: alerts.openedAt })
    .from(alerts)
    .where(ne(alerts.status, "resolved"))
    .orderBy(
      sql`case ${alerts.severity} when 'high' then 0 when 'medium' then 1 else 2 end`,
      sql`${alerts.openedAt} desc`,
    )
    .limit(limit);
}

export async function unresolvedAlerts(tx: Executor): Promise<UnresolvedAlert[]> {
  return tx
    .select({
      id: alerts.id,
      conditionKey: alerts.conditionKey,
      rule: alerts.rule,
      details: alerts.details,
      status: alerts.status,
      acknowledgedBy: alerts.acknowledgedBy,
      occurrences: alerts.occurrences,
      occurrenceKeys: alerts.occurrenceKeys,
    })
    .from(alerts)
    .where(ne(alerts.status, "resolved"));
}

/**
 * Opens alerts in one statement; a condition that already has an unresolved alert (opened by
 * another replica meanwhile) is skipped, so only the alerts opened here come back.
 */
export async function insertAlerts(tx: Executor, rows: NewAlertRow[]): Promise<AlertRow[]> {
  return tx.insert(alerts).values(rows).onConflictDoNothing().returning();
}

export async function markAlertsSeen(tx: Executor, ids: string[], at: Date): Promise<void> {
  await tx.update(alerts).set({ lastSeenAt: at }).where(inArray(alerts.id, ids));
}

/** The occurrences an alert has counted, for an alert opened before occurrences were counted. */
export async function setOccurrenceKeys(tx: Executor, id: string, keys: string[]): Promise<void> {
  await tx.update(alerts).set({ occurrenceKeys: keys }).where(eq(alerts.id, id));
}

/**
 * An incident occurred again: the unresolved alert takes the condition as it reads now and is
 * open again, no longer acknowledged. Undefined when the alert was resolved meanwhile.
 */
export async function recordRecurrence(
  tx: Executor,
  id: string,
  recurrence: Pick<AlertRow, "title" | "text" | "details" | "occurrences" | "lastOccurredAt"> & {
    occurrenceKeys: string[];
  },
): Promise<AlertRow | undefined> {
  const [row] = await tx
    .update(alerts)
    .set({
      title: recurrence.title,
      text: recurrence.text,
      details: recurrence.details,
      occurrences: recurrence.occurrences,
      lastOccurredAt: recurrence.lastOccurredAt,
      occurrenceKeys: recurrence.occurrenceKeys,
      status: "open",
      acknowledgedBy: null,
      acknowledgedAt: null,
    })
    .where(and(eq(alerts.id, id), ne(alerts.status, "resolved")))
    .returning();
  return row;
}

/** Resolves those of the alerts not resolved yet, and returns them. */
export async function resolveAlerts(tx: Executor, ids: string[], at: Date): Promise<AlertRow[]> {
  return tx
    .update(alerts)
    .set({ status: "resolved", resolvedAt: at })
    .where(and(inArray(alerts.id, ids), ne(alerts.status, "resolved")))
    .returning();
}

/** Acknowledges an open alert; undefined when it is not open (acknowledged already, resolved, unknown). */
export async function acknowledgeOpenAlert(
  tx: Executor,
  id: string,
  by: string,
  at: Date,
): Promise<AlertRow | undefined> {
  const [row] = await tx
    .update(alerts)
    .set({ status: "acknowledged", acknowledgedBy: by, acknowledgedAt: at })
    .where(and(eq(alerts.id, id), eq(alerts.status, "open")))
    .returning();
  return row;
}

/** Records when the alert channel was first given each alert; a later posting keeps the first time. */
export async function markAlertsPosted(tx: Executor, ids: string[], at: Date): Promise<void> {
  await tx
    .update(alerts)
    .set({ postedAt: sql`coalesce(${alerts.postedAt}, ${at.toISOString()}::timestamptz)` })
    .where(inArray(alerts.id, ids));
}

/** Which of these alerts the alert channel was ever given. */
export async function postedAlertIds(tx: Executor, ids: string[]): Promise<string[]> {
  const rows = await tx
    .select({ id: alerts.id })
    .from(alerts)
    .where(and(inArray(alerts.id, ids), isNotNull(alerts.postedAt)));
  return rows.map((r) => r.id);
}
