import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { AlertField } from "../../domain/alert-rules.js";
import { at } from "./columns.js";

/**
 * Security alerts. A condition (`stale_eligible:bob:db-admin`) has at most one unresolved alert:
 * the partial unique index makes a second evaluation, on this replica or another, a no-op. An
 * acknowledged alert is still unresolved (the condition still holds); once the condition clears
 * the alert is resolved, and the condition may raise a new alert later. The messages that show an
 * alert are in chat_messages under the alert's id.
 */
export const alerts = pgTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    rule: text("rule").notNull(),
    conditionKey: text("condition_key").notNull(),
    severity: text("severity", { enum: ["low", "medium", "high"] }).notNull(),
    title: text("title").notNull(),
    text: text("text").notNull(),
    /** The principal or role the alert is about, for filtering. */
    subject: text("subject"),
    details: jsonb("details").$type<{ fields: AlertField[] }>().notNull(),
    status: text("status", { enum: ["open", "acknowledged", "resolved"] })
      .notNull()
      .default("open"),
    openedAt: at("opened_at").notNull(),
    /** The last evaluation (or event) that found the condition still true. */
    lastSeenAt: at("last_seen_at").notNull(),
    /** Principal key of who acknowledged it. */
    acknowledgedBy: text("acknowledged_by"),
    acknowledgedAt: at("acknowledged_at"),
    resolvedAt: at("resolved_at"),
    /** When the alert channel was first given it (refs of the messages: chat_messages.subject_id = id). */
    postedAt: at("posted_at"),
    /** Incidents (a break-glass use, a refused approval, a failed MFA attempt): how many so far. */
    occurrences: integer("occurrences").notNull().default(1),
    /** The incident's latest occurrence. */
    lastOccurredAt: at("last_occurred_at"),
    /**
     * The occurrences already counted that are still inside the rule's window (later ones are new);
     * null on alerts opened before occurrences were counted.
     */
    occurrenceKeys: jsonb("occurrence_keys").$type<string[]>(),
  },
  (t) => [
    uniqueIndex("alerts_unresolved_condition_idx").on(t.conditionKey).where(sql`${t.status} <> 'resolved'`),
    index("alerts_status_idx").on(t.status, t.severity, t.openedAt),
    index("alerts_rule_idx").on(t.rule, t.status),
  ],
);
