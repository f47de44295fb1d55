import { boolean, index, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns.js";

/** Users and groups. `key` is the stable name used in pim.yaml; `id` is ours (usr_…, grp_…). */
export const principals = pgTable(
  "principals",
  {
    id: text("id").primaryKey(),
    key: text("key").notNull(),
    kind: text("kind", { enum: ["user", "group"] }).notNull(),
    name: text("name").notNull(),
    email: text("email"),
    slackId: text("slack_id"),
    teamsId: text("teams_id"),
    /**
     * Set when the platform id was not declared in pim.yaml but linked on first contact through a
     * confirmed e-mail address; apply keeps a linked id until the file declares one.
     */
    slackLinkedAt: at("slack_linked_at"),
    teamsLinkedAt: at("teams_linked_at"),
    managerId: text("manager_id"),
    admin: boolean("admin").notNull().default(false),
    breakGlass: boolean("break_glass").notNull().default(false),
    /** Set when the principal left pim.yaml; the row stays because history refers to it. */
    retiredAt: at("retired_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("principals_key_idx").on(t.key),
    uniqueIndex("principals_email_idx").on(t.email),
    uniqueIndex("principals_slack_idx").on(t.slackId),
    uniqueIndex("principals_teams_idx").on(t.teamsId),
  ],
);

/** Direct membership; a member may itself be a group (nested groups). */
export const groupMembers = pgTable(
  "group_members",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => principals.id, { onDelete: "cascade" }),
    memberId: text("member_id")
      .notNull()
      .references(() => principals.id, { onDelete: "cascade" }),
    relation: text("relation", { enum: ["member", "owner"] })
      .notNull()
      .default("member"),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.memberId, t.relation] }),
    index("group_members_member_idx").on(t.memberId),
  ],
);
