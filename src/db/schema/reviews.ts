import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { ReviewSettings } from "../../domain/review-rules.js";
import { at } from "./columns.js";
import { principals } from "./principals.js";
import { roles } from "./roles.js";

/**
 * One run of an access review: declared in pim.yaml (one row per occurrence of its recurrence)
 * or started by an administrator from chat. Its settings are frozen when it starts.
 */
export const reviewCampaigns = pgTable(
  "review_campaigns",
  {
    id: text("id").primaryKey(),
    /** The `reviews[].name` it runs for; null when an administrator started it ad hoc. */
    definition: text("definition"),
    /** The occurrence of the recurrence it stands for, so a slot starts one campaign at most. */
    occurrenceAt: at("occurrence_at"),
    settings: jsonb("settings").$type<ReviewSettings>().notNull(),
    status: text("status", { enum: ["open", "closed"] })
      .notNull()
      .default("open"),
    /** Principal key, or "system" for a scheduled start. */
    startedBy: text("started_by").notNull(),
    startsAt: at("starts_at").notNull(),
    endsAt: at("ends_at").notNull(),
    /** Offsets (ms before the end) of the reminders already sent. */
    remindersSent: jsonb("reminders_sent").$type<number[]>().notNull().default([]),
    closedAt: at("closed_at"),
    /** Set once the outcomes were carried out (at close with autoApply, else by an administrator). */
    appliedAt: at("applied_at"),
    appliedBy: text("applied_by"),
    summary: jsonb("summary").$type<Record<string, number>>(),
  },
  (t) => [
    uniqueIndex("review_campaigns_occurrence_idx")
      .on(t.definition, t.occurrenceAt)
      .where(sql`${t.definition} is not null`),
    index("review_campaigns_status_idx").on(t.status, t.endsAt),
  ],
);

/** One assignment under review, as it stood when the campaign started. */
export const reviewItems = pgTable(
  "review_items",
  {
    id: text("id").primaryKey(),
    campaignId: text("campaign_id")
      .notNull()
      .references(() => reviewCampaigns.id, { onDelete: "cascade" }),
    /** The assignment reviewed; it may be gone by the time the campaign closes. */
    assignmentId: text("assignment_id").notNull(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    scope: text("scope").notNull(),
    kind: text("kind", { enum: ["eligible", "active"] }).notNull(),
    source: text("source").notNull(),
    assignmentEndsAt: at("assignment_ends_at"),
    /** When the holder first had the assignment. */
    since: at("since").notNull(),
    lastActivatedAt: at("last_activated_at"),
    /** Activations in the inactivity window (`inactiveDays`). */
    activationCount: integer("activation_count").notNull(),
    recommendation: text("recommendation", { enum: ["keep", "remove"] }).notNull(),
    /** Principal ids (users or groups) who may decide it. */
    reviewers: text("reviewers").array().notNull(),
    outcome: text("outcome", { enum: ["keep", "remove"] }),
    /** decision, or unanswered (the campaign's policy for silence decided). */
    outcomeBy: text("outcome_by", { enum: ["decision", "unanswered"] }),
    appliedAt: at("applied_at"),
  },
  (t) => [
    index("review_items_campaign_idx").on(t.campaignId, t.id),
    index("review_items_assignment_idx").on(t.assignmentId),
  ],
);

/** The decision on an item; a reviewer may change it until the campaign closes. */
export const reviewDecisions = pgTable(
  "review_decisions",
  {
    itemId: text("item_id")
      .primaryKey()
      .references(() => reviewItems.id, { onDelete: "cascade" }),
    campaignId: text("campaign_id").notNull(),
    reviewerId: text("reviewer_id").notNull(),
    decision: text("decision", { enum: ["keep", "remove"] }).notNull(),
    reason: text("reason"),
    decidedAt: at("decided_at").notNull(),
  },
  (t) => [index("review_decisions_campaign_idx").on(t.campaignId)],
);
