import { pgTable, smallint, text } from "drizzle-orm/pg-core";

/**
 * One row whose `version` changes, by trigger, with every write to principals, group members,
 * roles and policies (see the drizzle/ migration). A process keeps what it read of those tables
 * under the version it saw, so a use case reads this one row instead of the directory.
 */
export const directoryVersion = pgTable("directory_version", {
  id: smallint("id").primaryKey(),
  version: text("version").notNull(),
});
