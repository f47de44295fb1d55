import { index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { at } from "./columns.js";

/**
 * One row per run of a cluster-once recurring job: the first replica to insert the row for a
 * time slot runs it, the others see the conflict and skip. A slot with no row was missed.
 */
export const cronRuns = pgTable(
  "cron_runs",
  {
    job: text("job").notNull(),
    slot: at("slot").notNull(),
    claimedBy: text("claimed_by").notNull(),
    claimedAt: at("claimed_at").notNull(),
    finishedAt: at("finished_at"),
    status: text("status", { enum: ["running", "succeeded", "failed"] })
      .notNull()
      .default("running"),
    error: text("error"),
  },
  (t) => [primaryKey({ columns: [t.job, t.slot] }), index("cron_runs_claimed_idx").on(t.job, t.claimedAt)],
);
