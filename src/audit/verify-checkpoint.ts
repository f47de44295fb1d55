import { readFile } from "node:fs/promises";
import type { Executor } from "../db/client.js";
import { checkpointSignatureValid, compareWithCheckpoint, latestCheckpoint } from "./checkpoint.js";

/**
 * `pim audit verify --checkpoint FILE`, after the chain itself verified: the latest checkpoint in
 * the file must carry a valid signature under `key`, and every event it names must still be in
 * the log with its hash. The message says what was checked, or what is wrong.
 */
export async function checkAgainstCheckpointFile(
  db: Executor,
  path: string,
  key: string | undefined,
): Promise<{ ok: boolean; message: string }> {
  if (!key) return { ok: false, message: "AUDIT_CHECKPOINT_KEY is needed to check a checkpoint's signature" };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return { ok: false, message: `Cannot read ${path}: ${(error as Error).message}` };
  }
  const checkpoint = latestCheckpoint(text);
  if (typeof checkpoint === "string") return { ok: false, message: `${path}: ${checkpoint}` };
  if (!checkpointSignatureValid(key, checkpoint))
    return {
      ok: false,
      message: `Checkpoint of ${checkpoint.at} in ${path} has a signature AUDIT_CHECKPOINT_KEY did not make: it cannot be trusted`,
    };
  const report = await compareWithCheckpoint(db, checkpoint);
  if (report.ok) return { ok: true, message: `matches the checkpoint of ${checkpoint.at} (${report.lanes} lanes)` };
  const found = report.reason === "event_missing" ? "it is gone" : `it now has hash ${report.found}`;
  return {
    ok: false,
    message: `Audit log REWRITTEN since the checkpoint of ${checkpoint.at}: lane ${report.lane}'s event ${report.id} had hash ${report.expected}; ${found}`,
  };
}
