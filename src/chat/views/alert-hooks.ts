import { countOpenAlerts } from "../../app/alert-records.js";
import type { EngineDeps } from "../../app/context.js";
import { acknowledgeAlert } from "../../app/evaluate-alerts.js";
import { reviewsInProgress } from "../../app/review-queries.js";
import type { AlertView } from "./alert.js";
import { alertViewOf } from "./security-alert.js";

/** What the alerts and reviews module gives the chat platforms (SlackHooks, TeamsHooks). */
export interface AlertHooks {
  /** The alert as it now stands, or null when this person may not acknowledge it (or it is gone). */
  acknowledgeAlert(alertId: string, principalId: string): Promise<AlertView | null>;
  countOpenAlerts(): Promise<number>;
  countReviewsInProgress(): Promise<number>;
}

export function alertHooks(deps: EngineDeps): AlertHooks {
  return {
    async acknowledgeAlert(alertId, principalId) {
      const acknowledged = await acknowledgeAlert(deps, alertId, principalId);
      return acknowledged.ok ? alertViewOf(acknowledged.value) : null;
    },
    async countOpenAlerts() {
      const counts = await countOpenAlerts(deps.db);
      return counts.low + counts.medium + counts.high;
    },
    async countReviewsInProgress() {
      return (await reviewsInProgress(deps.db)).length;
    },
  };
}
