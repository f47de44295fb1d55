import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import { sendExpiringNotices } from "../app/notices/activity.js";
import type { Delivery } from "../app/notices/delivery.js";
import type { CronCoordinator } from "./cron-coordinator.js";

/**
 * Every minute, once per cluster: holders whose activation ends within 15 minutes are told, with
 * an Extend button. Each activation is told once (claimed in notices_sent), so a missed minute is
 * caught up by the next.
 */
export function registerExpiringNoticesJob(cron: CronCoordinator, deps: EngineDeps, delivery: Delivery): void {
  cron.schedule("expiring-notices", "* * * * *", () => sendExpiringNotices(deps, delivery));
}
