import { pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.js";

/** What the built-in `log` connector holds: grants recorded in the database only. */
export const logHoldings = pgTable(
  "connector_log_holdings",
  {
    login: text("login").notNull(),
    role: text("role").notNull(),
    scope: text("scope").notNull(),
    grantedBy: text("granted_by"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.login, t.role, t.scope] })],
);
