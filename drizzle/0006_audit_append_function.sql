-- Appends a few audit events in one statement: takes a lane (the first free one from start_lane,
-- else waits for start_lane; a transaction that already holds one passes it as held_lane), links
-- each event onto the lane's head, inserts them in order and moves the head. Each entry carries
-- its canonical content (see canonicalJson in src/db/audit-append.ts) cut around the lane's
-- number, which is known only here: hash = sha256(prev || '\n' || before || lane || after).
-- A row lock taken under READ COMMITTED returns the head as its last holder committed it, so the
-- chain cannot fork; under REPEATABLE READ a head moved since the snapshot is a serialization error.
CREATE OR REPLACE FUNCTION audit_append(entries json, start_lane int, lanes int, held_lane int)
RETURNS TABLE (lane int, hash text) AS $$
DECLARE
  head_lane int;
  prev text;
  entry record;
  next_hash text;
BEGIN
  IF held_lane IS NOT NULL THEN
    SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l WHERE l.lane = held_lane FOR UPDATE;
  ELSE
    SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l
      ORDER BY (l.lane + start_lane) % lanes LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF head_lane IS NULL THEN
      SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l WHERE l.lane = start_lane FOR UPDATE;
    END IF;
  END IF;
  IF head_lane IS NULL THEN
    -- The heads were emptied behind the log's back (a restore that skipped them, say): each
    -- starts again from its lane's last stored event.
    INSERT INTO audit_lanes (lane, hash)
      SELECT s.l, coalesce((SELECT e.hash FROM audit_events e WHERE e.lane = s.l ORDER BY e.id DESC LIMIT 1), repeat('0', 64))
      FROM generate_series(0, lanes - 1) AS s(l)
      ON CONFLICT DO NOTHING;
    SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l
      WHERE l.lane = coalesce(held_lane, start_lane) FOR UPDATE;
  END IF;
  IF head_lane IS NULL THEN
    RAISE EXCEPTION 'the audit log has no lane %', coalesce(held_lane, start_lane);
  END IF;
  -- Parsed once into typed rows, in the order given.
  FOR entry IN
    SELECT x.* FROM ROWS FROM (json_to_recordset(entries) AS (at timestamptz, event text, actor text,
      subject text, role text, scope text, "requestId" text, "activationId" text, justification text,
      ticket text, decision text, approver text, data jsonb, before text, after text))
      WITH ORDINALITY AS x(at, event, actor, subject, role, scope, "requestId", "activationId",
      justification, ticket, decision, approver, data, before, after, n)
    ORDER BY x.n
  LOOP
    next_hash := encode(sha256(convert_to(prev || E'\n' || entry.before || head_lane::text || entry.after, 'UTF8')), 'hex');
    INSERT INTO audit_events (lane, at, event, actor, subject, role, scope, request_id, activation_id,
        justification, ticket, decision, approver, data, prev_hash, hash)
      VALUES (head_lane, entry.at, entry.event, entry.actor, entry.subject, entry.role, entry.scope,
        entry."requestId", entry."activationId", entry.justification, entry.ticket, entry.decision,
        entry.approver, entry.data, prev, next_hash);
    prev := next_hash;
  END LOOP;
  UPDATE audit_lanes l SET hash = prev WHERE l.lane = head_lane;
  lane := head_lane;
  hash := prev;
  RETURN NEXT;
END;
$$ LANGUAGE plpgsql;
