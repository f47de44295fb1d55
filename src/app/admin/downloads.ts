/**
 * Files handed to one person through a link: 256 random bits in the link, only their SHA-256
 * stored, bound to the person it was made for, short-lived, and good for one download.
 */
import { createHash, randomBytes } from "node:crypto";
import { storeDownload, takeDownload } from "../../db/repos/downloads.js";
import { MINUTE } from "../../domain/duration.js";
import { newId } from "../kernel/ids.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";

export const DOWNLOAD_TTL_MS = 10 * MINUTE;

/** What a link's token looks like: 32 bytes, base64url. Anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface DownloadFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

/** Keeps a file for `principalId` and returns the token of its link, which works once, for `ttlMs`. */
export async function offerDownload(
  deps: Pick<EngineDeps, "db" | "clock">,
  principalId: string,
  file: DownloadFile,
  ttlMs = DOWNLOAD_TTL_MS,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await deps.db.transaction((tx) =>
    storeDownload(
      tx,
      { id: newId("dl"), tokenHash: hashOf(token), principalId, ...file, createdAt: now, expiresAt },
      now,
    ),
  );
  return { token, expiresAt };
}

/** The file behind a token, handed out once; undefined when the link is unknown, used or past its end. */
export async function collectDownload(
  deps: Pick<EngineDeps, "db" | "clock">,
  token: string,
): Promise<(DownloadFile & { principalId: string }) | undefined> {
  if (!TOKEN.test(token)) return undefined;
  return deps.db.transaction((tx) => takeDownload(tx, hashOf(token), deps.clock.now()));
}
