import { bigint, pgTable, primaryKey, smallint, text } from "drizzle-orm/pg-core";

/**
 * How far the audit stream has delivered each lane to a sink: the id of the last event given.
 * Within a lane ids are drawn in commit order (under the lane's lock), so everything after the
 * cursor is exactly what is left to deliver.
 */
export const auditStreamCursors = pgTable(
  "audit_stream_cursors",
  {
    sink: text("sink").notNull(),
    lane: smallint("lane").notNull(),
    lastId: bigint("last_id", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sink, t.lane] })],
);
