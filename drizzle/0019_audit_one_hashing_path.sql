-- How many lanes (interleaved hash chains) the audit log has, said here once: the heads in
-- audit_lanes are this many, and the code asks this function rather than counting for itself.
CREATE OR REPLACE FUNCTION audit_lane_count() RETURNS int AS $$ SELECT 32 $$ LANGUAGE sql IMMUTABLE;
--> statement-breakpoint
-- Appends events onto the head of the lane the caller chose, whatever their number: each entry
-- carries its stored fields and its canonical content with that lane (see canonicalJson in
-- src/db/audit-append.ts); each is linked onto the head with hash = sha256(prev || '\n' || content),
-- the hash verify recomputes, and all are inserted in one statement, in the order given, before the
-- head moves to the last. The lock on the head row holds until the caller's transaction ends. A row
-- lock taken under READ COMMITTED returns the head as its last holder committed it, so the chain
-- cannot fork; under REPEATABLE READ a head moved since the snapshot is a serialization error.
-- Runs as the tables' owner: the runtime role may neither lock nor move a head itself.
CREATE OR REPLACE FUNCTION audit_append_on(head_lane int, entries json) RETURNS TABLE (lane int, hash text) AS $$
#variable_conflict use_column
DECLARE
  head text;
  prev text;
  content text;
  hashes text[] := '{}';
BEGIN
  IF head_lane IS NULL OR head_lane < 0 OR head_lane >= audit_lane_count() THEN
    RAISE EXCEPTION 'the audit log has no lane %', head_lane;
  END IF;
  SELECT l.hash INTO head FROM audit_lanes l WHERE l.lane = head_lane FOR UPDATE;
  IF head IS NULL THEN
    -- The heads were emptied behind the log's back (a restore that skipped them, say): each
    -- starts again from its lane's last stored event.
    INSERT INTO audit_lanes (lane, hash)
      SELECT s.l, coalesce((SELECT e.hash FROM audit_events e WHERE e.lane = s.l ORDER BY e.id DESC LIMIT 1), repeat('0', 64))
      FROM generate_series(0, audit_lane_count() - 1) AS s(l)
      ON CONFLICT DO NOTHING;
    SELECT l.hash INTO head FROM audit_lanes l WHERE l.lane = head_lane FOR UPDATE;
  END IF;
  prev := head;
  FOR content IN SELECT r.value->>'canonical' FROM json_array_elements(entries) WITH ORDINALITY AS r(value, n) ORDER BY r.n
  LOOP
    prev := encode(sha256(convert_to(prev || E'\n' || content, 'UTF8')), 'hex');
    hashes := hashes || prev;
  END LOOP;
  INSERT INTO audit_events (lane, at, event, actor, subject, role, scope, request_id, activation_id,
      justification, ticket, decision, approver, data, prev_hash, hash)
    SELECT head_lane, x.at, x.event, x.actor, x.subject, x.role, x.scope, x."requestId", x."activationId",
      x.justification, x.ticket, x.decision, x.approver, x.data, coalesce(hashes[(x.n - 1)::int], head), hashes[x.n::int]
    FROM ROWS FROM (json_to_recordset(entries) AS (at timestamptz, event text, actor text, subject text,
      role text, scope text, "requestId" text, "activationId" text, justification text, ticket text,
      decision text, approver text, data jsonb))
      WITH ORDINALITY AS x(at, event, actor, subject, role, scope, "requestId", "activationId",
      justification, ticket, decision, approver, data, n)
    ORDER BY x.n;
  IF prev IS DISTINCT FROM head THEN
    UPDATE audit_lanes l SET hash = prev WHERE l.lane = head_lane;
  END IF;
  lane := head_lane;
  hash := prev;
  RETURN NEXT;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
