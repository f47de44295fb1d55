/**
 * An audit export for chat, where the file travels as a whole (an upload, or a kept download):
 * the same rows and bytes as `pim audit export`, collected up to a size a chat can carry.
 */
import { Writable } from "node:stream";
import type { DbHandle } from "../../db/client.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";
import type { Actor } from "./administrators.js";
import type { ResolvedAuditFilter } from "./audit-filter.js";
import { exportAuditFor } from "./history.js";

/** About 80,000 events; more is for `pim audit export`, which streams to a file. */
export const CHAT_EXPORT_MAX_BYTES = 25 * 1024 * 1024;

export async function exportAuditAsFile(
  deps: EngineDeps,
  handle: Pick<DbHandle, "db" | "sql">,
  actor: Actor,
  filter: ResolvedAuditFilter,
  maxBytes = CHAT_EXPORT_MAX_BYTES,
): Promise<Result<{ rows: number; csv: Buffer }, Refusal>> {
  const chunks: Buffer[] = [];
  let size = 0;
  const out = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += bytes.length;
      // Past the limit the rest is only counted: the reader is told, and nothing is held.
      if (size <= maxBytes) chunks.push(bytes);
      done();
    },
  });
  const done = await exportAuditFor(deps, handle, actor, filter, out);
  if (!done.ok) return done;
  if (size > maxBytes)
    return err(
      refuse(
        "TOO_LARGE",
        `These ${done.value.rows} events make ${Math.ceil(size / 1024 / 1024)} MB, more than the ${Math.floor(maxBytes / 1024 / 1024)} MB a chat carries: narrow the filter (since:, until:, event:), or run pim audit export.`,
      ),
    );
  return ok({ rows: done.value.rows, csv: Buffer.concat(chunks) });
}
