import { and, eq, gt, isNull, lte } from "drizzle-orm";
import type { Executor } from "../client.js";
import { downloads } from "../schema/downloads.js";

export type StoredDownload = typeof downloads.$inferInsert;

/** Stores a file behind a link, and deletes the files whose links have ended. */
export async function storeDownload(tx: Executor, file: StoredDownload, now: Date): Promise<void> {
  await tx.delete(downloads).where(lte(downloads.expiresAt, now));
  await tx.insert(downloads).values(file);
}

/**
 * Takes the file behind a token once, inside the caller's transaction: the row is locked before it
 * is read, so of two downloads at the same moment the second finds it taken. Its content is
 * dropped as it is handed out.
 */
export async function takeDownload(
  tx: Executor,
  tokenHash: string,
  now: Date,
): Promise<{ principalId: string; filename: string; contentType: string; content: Buffer } | undefined> {
  const [row] = await tx
    .select({
      id: downloads.id,
      principalId: downloads.principalId,
      filename: downloads.filename,
      contentType: downloads.contentType,
      content: downloads.content,
    })
    .from(downloads)
    .where(and(eq(downloads.tokenHash, tokenHash), isNull(downloads.downloadedAt), gt(downloads.expiresAt, now)))
    .for("update");
  if (!row?.content) return undefined;
  await tx.update(downloads).set({ downloadedAt: now, content: null }).where(eq(downloads.id, row.id));
  return { principalId: row.principalId, filename: row.filename, contentType: row.contentType, content: row.content };
}
