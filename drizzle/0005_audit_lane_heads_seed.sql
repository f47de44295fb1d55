-- Each lane's head starts at the lane's last event (or the genesis hash of a lane with none).
INSERT INTO audit_lanes (lane, hash)
SELECT l, coalesce((SELECT e.hash FROM audit_events e WHERE e.lane = l ORDER BY e.id DESC LIMIT 1), repeat('0', 64))
FROM generate_series(0, 7) AS l
ON CONFLICT (lane) DO NOTHING;
--> statement-breakpoint
-- A head only moves forward: removing one would hide events cut from the end of its lane.
CREATE OR REPLACE FUNCTION audit_lanes_refuse_removal() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_lanes keeps every lane''s head: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_lanes_no_delete BEFORE DELETE ON "audit_lanes"
  FOR EACH ROW EXECUTE FUNCTION audit_lanes_refuse_removal();
--> statement-breakpoint
CREATE TRIGGER audit_lanes_no_truncate BEFORE TRUNCATE ON "audit_lanes"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_lanes_refuse_removal();
