import { evaluateAlerts, syncDriftAlerts } from "../app/alerts/evaluate.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { Delivery } from "../app/notices/delivery.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import type { CronCoordinator } from "./cron-coordinator.js";
import { detectDrift } from "./drift.js";

/**
 * Security alerts on a schedule, once per cluster: every rule every five minutes (events
 * evaluate their own rule at once, see AlertTriggers), so conditions that appear or clear with
 * time alone (stale eligibility, an incident's window passing) are noticed too.
 */
export function registerAlertsJob(cron: CronCoordinator, deps: EngineDeps, delivery: Delivery): void {
  cron.schedule("alerts", "*/5 * * * *", () => evaluateAlerts(deps, delivery));
}

/**
 * Drift detection followed by its alerts: holdings found outside PIM open alerts, and the alerts
 * of holdings gone from their targets resolve. For the drift job's schedule in main.ts.
 */
export function driftWithAlerts(deps: EngineDeps, connectors: ConnectorRegistry, delivery: Delivery) {
  return async () => syncDriftAlerts(deps, delivery, await detectDrift(deps, connectors));
}
