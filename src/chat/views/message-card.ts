import type { ChatMessage } from "../../domain/notices.js";
import { assignmentChangeCard, assignmentExpiringCard } from "./assignment-notice.js";
import { assignmentRequestCard } from "./assignment-request.js";
import type { Card } from "./card.js";
import { digestCard } from "./digest.js";
import { expiringCard } from "./expiring-notice.js";
import { factorNoticeCard } from "./mfa-factor-notice.js";
import { policyNoticeCard, removalsCard } from "./policy-notice.js";
import { reviewPromptCard, reviewReminderCard, reviewSummaryCard } from "./review-card.js";
import { revokedNoticeCard } from "./revoked-notice.js";
import { alertOverflowCard } from "./security-alert.js";

/** Every message of the Delivery port as a neutral card; the platforms draw it. */
export function cardFor(message: ChatMessage, now: Date): Card {
  switch (message.type) {
    case "alert":
      throw new Error("alerts are drawn by the chat notifier (alertCard), not here");
    case "alerts.overflow":
      return alertOverflowCard(message);
    case "review.prompt":
      return reviewPromptCard(message.page, now);
    case "review.reminder":
      return reviewReminderCard(message.reminder, now);
    case "review.summary":
      return reviewSummaryCard(message.summary);
    case "expiring":
      return expiringCard(message.notice, now);
    case "activity":
      return policyNoticeCard(message.notice);
    case "removals":
      return removalsCard(message.notice);
    case "digest":
      return digestCard(message.digest);
    case "mfa.factor":
      return factorNoticeCard(message.notice);
    case "activation.revoked":
      return revokedNoticeCard(message.notice);
    case "assignment.changed":
      return assignmentChangeCard(message.notice);
    case "assignment.expiring":
      return assignmentExpiringCard(message.notice, now);
    case "assignment.request":
      return assignmentRequestCard(message.notice);
    default: {
      const never: never = message;
      throw new Error(`unknown message ${String(never)}`);
    }
  }
}
