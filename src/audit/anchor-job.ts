/**
 * Anchors the audit log outside the database, once per cluster on a schedule: the events not yet
 * streamed go to each sink, then a signed checkpoint of every lane head when a key is set.
 */
import type { Logger } from "pino";
import type { Env } from "../config/env.js";
import type { DbHandle } from "../db/client.js";
import type { CronCoordinator } from "../jobs/cron-coordinator.js";
import { type Checkpoint, takeCheckpoint } from "./checkpoint.js";
import { type AuditSink, FileSink, streamAuditEvents, WebhookSink } from "./stream.js";

type AnchorSettings = Pick<
  Env,
  "AUDIT_STREAM_FILE" | "AUDIT_STREAM_URL" | "AUDIT_STREAM_SECRET" | "AUDIT_CHECKPOINT_KEY" | "AUDIT_STREAM_SCHEDULE"
>;

/** The sinks the settings name (none: the audit log is not streamed). */
export function auditSinks(env: AnchorSettings): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (env.AUDIT_STREAM_FILE) sinks.push(new FileSink(env.AUDIT_STREAM_FILE));
  if (env.AUDIT_STREAM_URL && env.AUDIT_STREAM_SECRET)
    sinks.push(new WebhookSink(env.AUDIT_STREAM_URL, env.AUDIT_STREAM_SECRET));
  return sinks;
}

export interface AnchorOutcome {
  delivered: Record<string, number>;
  checkpoint: Checkpoint | null;
}

/** Streams every sink up to date, then gives each the same signed checkpoint (with a key). */
export async function anchorAuditLog(
  handle: Pick<DbHandle, "db" | "withAdvisoryLock">,
  sinks: AuditSink[],
  checkpointKey: string | undefined,
  now: () => Date,
): Promise<AnchorOutcome> {
  const delivered: Record<string, number> = {};
  for (const sink of sinks) delivered[sink.name] = await streamAuditEvents(handle, sink);
  if (!checkpointKey || sinks.length === 0) return { delivered, checkpoint: null };
  const checkpoint = await takeCheckpoint(handle.db, checkpointKey, now());
  for (const sink of sinks) await sink.deliver([checkpoint]);
  return { delivered, checkpoint };
}

/** Schedules the audit stream and its checkpoints, when a sink is configured. */
export function registerAuditAnchor(cron: CronCoordinator, handle: DbHandle, env: AnchorSettings, log: Logger): void {
  const sinks = auditSinks(env);
  if (sinks.length === 0) {
    if (env.AUDIT_CHECKPOINT_KEY)
      log.warn("AUDIT_CHECKPOINT_KEY is set but no audit stream is: checkpoints travel on it, so none are taken");
    else log.info("audit stream off (AUDIT_STREAM_FILE / AUDIT_STREAM_URL not set)");
    return;
  }
  cron.schedule("audit-stream", env.AUDIT_STREAM_SCHEDULE, async () => {
    const outcome = await anchorAuditLog(handle, sinks, env.AUDIT_CHECKPOINT_KEY, () => new Date());
    log.debug({ delivered: outcome.delivered, checkpoint: outcome.checkpoint?.at ?? null }, "audit stream delivered");
  });
  log.info({ sinks: sinks.map((s) => s.name), checkpoints: Boolean(env.AUDIT_CHECKPOINT_KEY) }, "audit stream on");
}
