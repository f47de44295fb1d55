import { customType, index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at } from "./columns.js";
import { principals } from "./principals.js";

const bytes = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => Buffer.from(value),
});

/**
 * Files handed to one person through a short-lived, single-use link (an audit export on Teams,
 * where a bot cannot put a file in a chat). Only the SHA-256 of the link's token is kept; the
 * content is dropped when it is downloaded, and rows past their end are deleted when the next
 * file is stored.
 */
export const downloads = pgTable(
  "downloads",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    content: bytes("content"),
    createdAt: at("created_at").notNull(),
    expiresAt: at("expires_at").notNull(),
    downloadedAt: at("downloaded_at"),
  },
  (t) => [uniqueIndex("downloads_token_idx").on(t.tokenHash), index("downloads_expires_idx").on(t.expiresAt)],
);
