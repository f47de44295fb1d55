/**
 * The port through which alerts, reviews, notices and digests reach people: the use cases say what
 * to tell whom, chat (src/chat/views/chat-delivery.ts) decides how each platform draws it.
 */
import type { AlertRecord } from "./alert-records.js";
import type { Digest } from "./digest.js";
import type { ActivityNotice, ExpiringNotice, RemovalsNotice } from "./notifications.js";
import type { PersonView } from "./queries.js";
import type { CampaignSummary, ReviewPage, ReviewReminder } from "./review-queries.js";

export type ChatMessage =
  | { type: "alert"; alert: AlertRecord }
  /** More alerts of one rule opened at once than are worth a card each. */
  | { type: "alerts.overflow"; rule: string; title: string; count: number; at: Date }
  | { type: "review.prompt"; page: ReviewPage }
  | { type: "review.reminder"; reminder: ReviewReminder }
  | { type: "review.summary"; summary: CampaignSummary }
  | { type: "expiring"; notice: ExpiringNotice }
  | { type: "activity"; notice: ActivityNotice }
  | { type: "removals"; notice: RemovalsNotice }
  | { type: "digest"; digest: Digest }
  /** One of a person's MFA factors was added, replaced or removed: told to them (and to admins when it waits out a delay). */
  | { type: "mfa.factor"; notice: FactorNotice }
  /** An administrator revoked one of the person's roles: which, who and why. */
  | { type: "activation.revoked"; notice: RevokedNotice };

export interface FactorNotice {
  person: PersonView;
  change: "added" | "replaced" | "removed";
  method: "totp" | "passkey" | string;
  /** How adding it was allowed: factor, invitation, oidc, delay. */
  via: string | null;
  /** When it starts to count, for a factor set up without proof. */
  usableAt: Date | null;
  /** Who made the change when it was not the person (an administrator's reset). */
  by: string | null;
  /** True on the copies the administrators get. */
  forAdmins: boolean;
  at: Date;
}

/** An administrator took a role away: what its holder is told. */
export interface RevokedNotice {
  holder: PersonView;
  activationId: string;
  requestId: string;
  roleName: string;
  scope: string;
  /** The administrator's name (or `cli:<login>` for the operator). */
  revokedBy: string;
  reason: string;
  at: Date;
}

/**
 * Names a message so that a later call with the same key redraws it in place: `subjectId` is what
 * it is about (an alert, a review page, a campaign), `kind` which of its messages.
 */
export interface MessageKey {
  subjectId: string;
  kind: string;
}

export interface Delivery {
  /** A direct message to one person; false when they cannot be reached on any platform. */
  toPerson(person: PersonView, message: ChatMessage, key?: MessageKey): Promise<boolean>;
  /** A post in each platform's alert channel; false when no alert channel is configured. */
  toAlertChannel(message: ChatMessage, key?: MessageKey): Promise<boolean>;
}

/** For processes with no chat at all: everything is dropped, and says so. */
export const noDelivery: Delivery = {
  toPerson: async () => false,
  toAlertChannel: async () => false,
};
