import { index, pgTable, text } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns.js";
import { principals } from "./principals.js";
import { roles } from "./roles.js";

export const assignments = pgTable(
  "assignments",
  {
    id: text("id").primaryKey(),
    principalId: text("principal_id")
      .notNull()
      .references(() => principals.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    kind: text("kind", { enum: ["eligible", "active"] }).notNull(),
    startsAt: at("starts_at"),
    endsAt: at("ends_at"),
    justification: text("justification"),
    /**
     * "file" rows are owned by pim.yaml and reconciled by apply; "chat" rows were made by an
     * administrator in chat, "cli" rows at the `pim` command line: apply leaves those alone.
     */
    source: text("source", { enum: ["file", "chat", "cli"] }).notNull(),
    createdBy: text("created_by"),
    createdAt: createdAt(),
  },
  (t) => [index("assignments_principal_idx").on(t.principalId), index("assignments_role_idx").on(t.roleId)],
);
