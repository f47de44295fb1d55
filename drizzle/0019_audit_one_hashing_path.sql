-- How many lanes (interleaved hash chains) the audit log has: said here once. The heads in
-- audit_lanes are this many; the code asks for a lane and never counts them itself.
CREATE OR REPLACE FUNCTION audit_lane_count() RETURNS int AS $$ SELECT 32 $$ LANGUAGE sql IMMUTABLE;
--> statement-breakpoint
-- Takes a lane for the calling transaction and returns its head: a free one at random, else (every
-- lane held by a transaction that is appending) one at random, waited for. The caller hashes its
-- events onto the head (src/db/audit-append.ts, the same hashing verify does) and inserts them
-- through audit_append_chained; the lock on the head row holds until the transaction ends. Runs as
-- the tables' owner, since the runtime role may not lock the heads itself. A row lock taken under
-- READ COMMITTED returns the head as its last holder committed it, so the chain cannot fork; under
-- REPEATABLE READ a head moved since the snapshot is a serialization error.
CREATE OR REPLACE FUNCTION audit_take_lane() RETURNS TABLE (lane int, hash text) AS $$
#variable_conflict use_column
DECLARE
  head_lane int;
  prev text;
  wanted int := floor(random() * audit_lane_count())::int;
BEGIN
  SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l
    ORDER BY (l.lane + wanted) % audit_lane_count() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF head_lane IS NULL THEN
    SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l WHERE l.lane = wanted FOR UPDATE;
  END IF;
  IF head_lane IS NULL THEN
    -- The heads were emptied behind the log's back (a restore that skipped them, say): each
    -- starts again from its lane's last stored event.
    INSERT INTO audit_lanes (lane, hash)
      SELECT s.l, coalesce((SELECT e.hash FROM audit_events e WHERE e.lane = s.l ORDER BY e.id DESC LIMIT 1), repeat('0', 64))
      FROM generate_series(0, audit_lane_count() - 1) AS s(l)
      ON CONFLICT DO NOTHING;
    SELECT l.lane, l.hash INTO head_lane, prev FROM audit_lanes l WHERE l.lane = wanted FOR UPDATE;
  END IF;
  lane := head_lane;
  hash := prev;
  RETURN NEXT;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
