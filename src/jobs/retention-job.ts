import type { Logger } from "pino";
import { pruneFinished } from "../app/admin/retention.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { CronCoordinator } from "./cron-coordinator.js";

/** Every night at 03:17, once per cluster: finished jobs and expired MFA links past RETENTION go. */
export function registerRetentionJob(cron: CronCoordinator, deps: EngineDeps, retentionMs: number, log: Logger): void {
  cron.schedule("retention", "17 3 * * *", async () => {
    const pruned = await pruneFinished(deps, retentionMs);
    log.info(pruned, "finished jobs and expired MFA links pruned");
  });
}
