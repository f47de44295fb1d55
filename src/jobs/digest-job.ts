import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { Delivery } from "../app/notices/delivery.js";
import { sendWeeklyDigests } from "../app/notices/digest.js";
import type { CronCoordinator } from "./cron-coordinator.js";

/** Mondays at 09:00 UTC, once per cluster: each administrator's weekly digest. */
export const DIGEST_SCHEDULE = "0 9 * * 1";

export function registerDigestJob(cron: CronCoordinator, deps: EngineDeps, delivery: Delivery): void {
  cron.schedule("digest", DIGEST_SCHEDULE, () => sendWeeklyDigests(deps, delivery));
}
