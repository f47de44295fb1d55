import { timestamp } from "drizzle-orm/pg-core";

/** Timestamps are stored with time zone and read back as Date. */
export const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const createdAt = () => at("created_at").notNull().defaultNow();
