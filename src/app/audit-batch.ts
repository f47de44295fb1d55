import { type AuditEntry, appendAuditBulk } from "../db/audit-append.js";
import type { Work } from "./context.js";

/**
 * Appends many audit events inside the unit of work, so that a campaign closing over 50,000
 * assignments writes one event per assignment without one statement per event.
 */
export async function auditMany(work: Work, entries: Omit<AuditEntry, "at">[]): Promise<void> {
  await appendAuditBulk(
    work.tx,
    entries.map((e) => ({ ...e, at: work.now })),
  );
}

/** Splits a list for statements with one parameter per item. */
export function chunks<T>(items: T[], size = 5_000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
