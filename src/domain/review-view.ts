/** An access review as reviewers and administrators see it in chat: plain data, no storage. */

import type { PersonView } from "./request-view.js";
import type { ReviewDecision, ReviewerMode, UnansweredPolicy } from "./review-rules.js";

export interface ReviewCampaignView {
  id: string;
  title: string;
  definition: string | null;
  status: "open" | "closed";
  startsAt: Date;
  endsAt: Date;
  reviewerMode: ReviewerMode;
  unanswered: UnansweredPolicy;
  inactiveDays: number;
  autoApply: boolean;
  appliedAt: Date | null;
}

export interface ReviewItemView {
  id: string;
  holder: { name: string; kind: "user" | "group"; person: PersonView | null };
  roleKey: string;
  roleName: string;
  scope: string;
  kind: "eligible" | "active";
  assignmentEndsAt: Date | null;
  lastActivatedAt: Date | null;
  activationCount: number;
  recommendation: ReviewDecision;
  decision: { decision: ReviewDecision; reason: string | null; by: string; at: Date } | null;
  outcome: ReviewDecision | null;
}

/** What one reviewer sees in one message: one item, or a batch of up to PAGE_SIZE. */
export interface ReviewPage {
  /** Names the message, so that it is redrawn in place: `<campaign>:<reviewer>:<page>`. */
  key: string;
  campaign: ReviewCampaignView;
  reviewer: PersonView;
  items: ReviewItemView[];
  /** 1-based. */
  page: number;
  pages: number;
  /** Items of this reviewer in the campaign, and how many of them still wait for a decision. */
  total: number;
  undecided: number;
}

export interface ReviewReminder {
  campaign: ReviewCampaignView;
  reviewer: PersonView;
  undecided: number;
}

export interface CampaignSummary {
  campaign: ReviewCampaignView;
  items: number;
  decided: number;
  keptByDecision: number;
  removedByDecision: number;
  keptUnanswered: number;
  removedUnanswered: number;
  /** Removed assignments that pim.yaml declares: the next apply restores them unless the file changes. */
  removedFromFile: number;
  applied: boolean;
}
