import { sendAssignmentReminders } from "../app/admin/lifecycle.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { CronCoordinator } from "./cron-coordinator.js";

/**
 * Every hour, once per cluster: reminders of assignments ending in 14 days or 1 day. Each
 * reminder is claimed once, so a missed hour is caught up by the next.
 */
export function registerAssignmentRemindersJob(cron: CronCoordinator, deps: EngineDeps): void {
  cron.schedule("assignment-reminders", "11 * * * *", () => sendAssignmentReminders(deps));
}
