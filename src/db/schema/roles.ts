import { boolean, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { PolicyOverride } from "../../domain/policy.js";
import { at, createdAt } from "./columns.js";
import { principals } from "./principals.js";

export const roles = pgTable(
  "roles",
  {
    id: text("id").primaryKey(),
    key: text("key").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** Connector settings as declared in pim.yaml (type and target; never secrets, only env var names). */
    connector: jsonb("connector").$type<Record<string, unknown>>().notNull(),
    scopes: jsonb("scopes").$type<string[]>().notNull(),
    notify: boolean("notify").notNull().default(false),
    critical: boolean("critical").notNull().default(false),
    /**
     * Set on the two roles pim-bot keeps for a privileged group (PIM for Groups): holding the
     * role with `group_access` "member" is membership of the group, "owner" its ownership.
     */
    groupId: text("group_id").references(() => principals.id),
    groupAccess: text("group_access", { enum: ["member", "owner"] }),
    /** Set when the role left pim.yaml; the row stays because history refers to it. */
    retiredAt: at("retired_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("roles_key_idx").on(t.key)],
);

export const scopes = pgTable("scopes", {
  path: text("path").primaryKey(),
  name: text("name").notNull(),
});

/** `defaults` (role_id null) and one override row per role that names any setting. */
export const policies = pgTable(
  "policies",
  {
    id: text("id").primaryKey(),
    roleId: text("role_id").references(() => roles.id, { onDelete: "cascade" }),
    settings: jsonb("settings").$type<PolicyOverride>().notNull(),
  },
  (t) => [uniqueIndex("policies_role_idx").on(t.roleId)],
);

/** Small named settings from pim.yaml that are not per role: channels, alert thresholds. */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
});
