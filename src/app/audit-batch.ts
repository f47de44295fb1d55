import { type AuditEntry, appendAudit } from "../db/audit-append.js";
import type { Work } from "./context.js";

/** Rows per INSERT: 16 columns each stays far below PostgreSQL's 65,535 parameters. */
const CHUNK = 1_000;

/**
 * Appends many audit events inside the unit of work, in chunks, so that a campaign closing over
 * 50,000 assignments writes one event per assignment without one statement per event.
 */
export async function auditMany(work: Work, entries: Omit<AuditEntry, "at">[]): Promise<void> {
  for (let i = 0; i < entries.length; i += CHUNK)
    await appendAudit(
      work.tx,
      entries.slice(i, i + CHUNK).map((e) => ({ ...e, at: work.now })),
    );
}

/** Splits a list for statements with one parameter per item. */
export function chunks<T>(items: T[], size = 5_000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
