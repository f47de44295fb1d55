import { type AuditEntry, appendAudit } from "../db/audit-append.js";
import type { Work } from "./context.js";

/**
 * Appends many audit events inside the unit of work, so that a campaign closing over 50,000
 * assignments writes one event per assignment without one statement per event.
 */
export async function auditMany(work: Work, entries: Omit<AuditEntry, "at">[]): Promise<void> {
  await appendAudit(
    work.tx,
    entries.map((e) => ({ ...e, at: work.now })),
  );
}
