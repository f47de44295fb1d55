import { pgTable, text } from "drizzle-orm/pg-core";
import { at } from "./columns.js";

/**
 * How each connector target is doing, as the outbox workers of every replica see it: since when
 * its calls have been failing (null while it works), and since when that has been alerted.
 */
export const targetHealth = pgTable("target_health", {
  /** The target as operators know it: `postgres PROD_DB_URL db_admin`, `webhook https://…`. */
  target: text("target").primaryKey(),
  failingSince: at("failing_since"),
  alertedAt: at("alerted_at"),
  lastError: text("last_error"),
  lastFailureAt: at("last_failure_at"),
  lastSuccessAt: at("last_success_at"),
});
