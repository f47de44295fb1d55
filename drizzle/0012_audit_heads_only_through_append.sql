-- Appends run as the owner of the audit tables, so that the role the bot runs as needs no more
-- than SELECT and INSERT on audit_events, SELECT on audit_lanes and EXECUTE on these functions
-- (README, "Tamper evidence"): it can then neither change nor remove an event, nor move a head.
ALTER FUNCTION audit_append(json, int, int, int) SECURITY DEFINER SET search_path = public, pg_temp;
--> statement-breakpoint
-- Appends many events hashed by the caller (src/db/audit-append.ts) onto the head of their lane,
-- which the caller's transaction already holds: every row must name its predecessor (the first
-- the head), all on one lane; the head then moves to the last. A row whose hash does not match
-- its content is not refused here: verify reports it.
CREATE OR REPLACE FUNCTION audit_append_chained(lane_rows json) RETURNS TABLE (lane int, hash text) AS $$
#variable_conflict use_column
DECLARE
  head_lane int;
  prev text;
  broken bigint;
  last_hash text;
BEGIN
  SELECT (r.value->>'lane')::int INTO head_lane FROM json_array_elements(lane_rows) AS r(value) LIMIT 1;
  IF head_lane IS NULL THEN
    RAISE EXCEPTION 'audit_append_chained: no events given';
  END IF;
  SELECT l.hash INTO prev FROM audit_lanes l WHERE l.lane = head_lane FOR UPDATE;
  IF prev IS NULL THEN
    RAISE EXCEPTION 'the audit log has no lane %', head_lane;
  END IF;
  SELECT x.n, x.h INTO broken, last_hash FROM (
      SELECT r.n, (r.value->>'lane')::int AS l, r.value->>'prevHash' AS p, r.value->>'hash' AS h,
        lag(r.value->>'hash', 1, prev) OVER (ORDER BY r.n) AS expected
      FROM json_array_elements(lane_rows) WITH ORDINALITY AS r(value, n)) x
    WHERE x.l IS DISTINCT FROM head_lane OR x.p IS DISTINCT FROM x.expected OR x.h IS NULL
    ORDER BY x.n LIMIT 1;
  IF broken IS NOT NULL THEN
    RAISE EXCEPTION 'audit_append_chained: event % does not follow the head of lane %', broken, head_lane
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  INSERT INTO audit_events (lane, at, event, actor, subject, role, scope, request_id, activation_id,
      justification, ticket, decision, approver, data, prev_hash, hash)
    SELECT head_lane, x.at, x.event, x.actor, x.subject, x.role, x.scope, x."requestId", x."activationId",
      x.justification, x.ticket, x.decision, x.approver, x.data, x."prevHash", x.hash
    FROM ROWS FROM (json_to_recordset(lane_rows) AS (at timestamptz, event text, actor text, subject text,
      role text, scope text, "requestId" text, "activationId" text, justification text, ticket text,
      decision text, approver text, data jsonb, "prevHash" text, hash text))
      WITH ORDINALITY AS x(at, event, actor, subject, role, scope, "requestId", "activationId",
      justification, ticket, decision, approver, data, "prevHash", hash, n)
    ORDER BY x.n;
  SELECT r.value->>'hash' INTO last_hash FROM json_array_elements(lane_rows) WITH ORDINALITY AS r(value, n)
    ORDER BY r.n DESC LIMIT 1;
  UPDATE audit_lanes l SET hash = last_hash WHERE l.lane = head_lane;
  lane := head_lane;
  hash := last_hash;
  RETURN NEXT;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
--> statement-breakpoint
-- A head that moves names its lane's last event, whoever moves it: it can neither be set back to
-- hide events cut from the end, nor set to a hash no event has.
CREATE OR REPLACE FUNCTION audit_lanes_head_is_last() RETURNS trigger AS $$
BEGIN
  IF NEW.lane IS DISTINCT FROM OLD.lane OR (NEW.hash IS DISTINCT FROM OLD.hash AND NEW.hash IS DISTINCT FROM
      coalesce((SELECT e.hash FROM audit_events e WHERE e.lane = NEW.lane ORDER BY e.id DESC LIMIT 1), repeat('0', 64)))
  THEN
    RAISE EXCEPTION 'audit_lanes: a head moves only to its lane''s last event' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_lanes_head_is_last BEFORE UPDATE ON "audit_lanes"
  FOR EACH ROW EXECUTE FUNCTION audit_lanes_head_is_last();
