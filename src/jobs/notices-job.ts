import type { EngineDeps } from "../app/context.js";
import type { Delivery } from "../app/delivery.js";
import { sendExpiringNotices } from "../app/notifications.js";
import type { CronCoordinator } from "./cron-coordinator.js";

/**
 * Every minute, once per cluster: holders whose activation ends within 15 minutes are told, with
 * an Extend button. Each activation is told once (claimed in notices_sent), so a missed minute is
 * caught up by the next.
 */
export function registerExpiringNoticesJob(cron: CronCoordinator, deps: EngineDeps, delivery: Delivery): void {
  cron.schedule("expiring-notices", "* * * * *", () => sendExpiringNotices(deps, delivery));
}
