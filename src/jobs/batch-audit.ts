import type { Work } from "../app/context.js";
import { type AuditEntry, appendAudit } from "../db/audit-append.js";

/**
 * Runs `fn` with a unit of work whose audit entries are kept, in order, and appended in one
 * statement when it is done (appendAudit: the same chain and hashes, one JSON parameter per
 * chunk). For the batch paths, where a VALUES list of thousands of audit rows costs more CPU than
 * everything else the batch does.
 */
export async function withBatchedAudit<T>(work: Work, fn: (work: Work) => Promise<T>): Promise<T> {
  const entries: AuditEntry[] = [];
  const value = await fn({ ...work, audit: (entry) => entries.push({ ...entry, at: entry.at ?? work.now }) });
  await appendAudit(work.tx, entries);
  return value;
}
