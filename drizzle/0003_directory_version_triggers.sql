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
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['principals', 'group_members', 'roles', 'policies'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
      FOR EACH STATEMENT EXECUTE FUNCTION directory_changed()', t || '_changed', t);
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_changed');
  END LOOP;
END;
$$;
