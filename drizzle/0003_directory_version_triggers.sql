-- Every write to the directory (principals, group members, roles, policies) gives it a new
-- version, in the writing transaction, so the new version is seen exactly when the change is.
-- ENABLE ALWAYS: the version moves even under session_replication_role = replica (a restore).
CREATE OR REPLACE FUNCTION directory_changed() RETURNS trigger AS $$
BEGIN
  INSERT INTO directory_version (id, version) VALUES (1, gen_random_uuid()::text)
    ON CONFLICT (id) DO UPDATE SET version = excluded.version;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
INSERT INTO directory_version (id, version) VALUES (1, gen_random_uuid()::text) ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "principals"
  FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
--> statement-breakpoint
ALTER TABLE "principals" ENABLE ALWAYS TRIGGER principals_changed;
--> statement-breakpoint
CREATE TRIGGER group_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "group_members"
  FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
--> statement-breakpoint
ALTER TABLE "group_members" ENABLE ALWAYS TRIGGER group_members_changed;
--> statement-breakpoint
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "roles"
  FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
--> statement-breakpoint
ALTER TABLE "roles" ENABLE ALWAYS TRIGGER roles_changed;
--> statement-breakpoint
CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "policies"
  FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
--> statement-breakpoint
ALTER TABLE "policies" ENABLE ALWAYS TRIGGER policies_changed;
