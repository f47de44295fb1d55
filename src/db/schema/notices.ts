import { pgTable, text } from "drizzle-orm/pg-core";
import { at } from "./columns.js";

/**
 * Notices that must go out once, whichever replica notices first: the row is the claim. Keys name
 * what was told (`expiring:act_…`, `digest:usr_…:2026-11-02`, `activation:act_…:active`).
 */
export const noticesSent = pgTable("notices_sent", {
  key: text("key").primaryKey(),
  sentAt: at("sent_at").notNull(),
});
