-- Appends no longer wait for each other. An event's global position is derived from the id of the
-- transaction that writes it:
--
--     position = base + xid * 1000000 + n        (n = 1, 2, ... within that transaction)
--
-- so positions sort by transaction id first. A reader returns only positions below the horizon
-- `base + xmin * 1000000`, where xmin is the oldest transaction still running when its snapshot was
-- taken: every transaction below it has committed or rolled back, so no event below a position a
-- reader has returned can commit later, however the writers' commits interleave. (Transactions in
-- other databases of the same server are left out: see wave_horizon.) `base` is the
-- highest position stored before this migration (those events were ordered by the old global lock),
-- so every new position lies above every old one.
--
-- A stream's versions keep that order too: an append refuses (WV001, a version conflict) when the
-- stream's last event was written by a transaction with a higher id than its own, which can happen
-- only to a transaction that took its id before reading the stream's version; it retries afresh.

DO $migration$
DECLARE
    v_base bigint;
BEGIN
    -- Appends by the old function hold this lock until they commit: wait for them, and keep new ones
    -- out until the new function is in place, so `base` is above every position they write.
    PERFORM pg_advisory_xact_lock(7461);
    SELECT coalesce(max(global_position), 0) INTO v_base FROM events;

    -- The horizon: the oldest transaction of the snapshot still running, leaving out those known to
    -- run in another database (they write no events here), or the snapshot's xmax when none is left.
    -- A running transaction this cannot place (its backend gone meanwhile, a prepared one, a role
    -- whose sessions are hidden) counts as this database's: it can only hold the horizon back.
    EXECUTE format($f$
CREATE FUNCTION wave_horizon() RETURNS bigint LANGUAGE sql STABLE AS $body$
    WITH snapshot AS (SELECT pg_current_snapshot() AS s),
    elsewhere AS (
        SELECT a.backend_xid::text::bigint AS xid
          FROM pg_stat_get_activity(NULL) a
         WHERE a.backend_xid IS NOT NULL
           AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())
    )
    SELECT %1$s + least(
        pg_snapshot_xmax(snapshot.s)::text::bigint,
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(snapshot.s) AS x
          WHERE x::text::bigint %% 4294967296 NOT IN (SELECT xid FROM elsewhere))
    ) * 1000000
    FROM snapshot
$body$
    $f$, v_base);

    EXECUTE format($f$
CREATE OR REPLACE FUNCTION wave_append(
    p_stream_id text, p_expected integer, p_event_ids uuid[], p_types text[], p_versions integer[],
    p_occurred timestamptz[], p_correlation text[], p_causation uuid[], p_producer text[],
    p_traceparent text[], p_payloads jsonb[]
) RETURNS TABLE (event_id uuid, stream_version integer, global_position bigint, duplicate boolean)
LANGUAGE plpgsql AS $body$
DECLARE
    v_count    integer := cardinality(p_event_ids);
    v_stored   integer;
    v_foreign  integer;
    v_current  integer;
    v_tail     bigint;
    v_first    bigint;
    v_last     bigint;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE e.stream_id <> p_stream_id)
      INTO v_stored, v_foreign FROM events e WHERE e.event_id = ANY (p_event_ids);
    IF v_stored > 0 THEN
        IF v_stored = v_count AND v_foreign = 0 THEN
            RETURN QUERY SELECT e.event_id, e.stream_version, e.global_position, true
                FROM events e WHERE e.event_id = ANY (p_event_ids) ORDER BY e.global_position;
            RETURN;
        END IF;
        RAISE EXCEPTION '%% of %% event ids are stored already%%; a batch for %% must be stored whole or not at all',
            v_stored, v_count, CASE WHEN v_foreign > 0 THEN ' on another stream' ELSE '' END, quote_literal(p_stream_id)
            USING ERRCODE = 'WV002';
    END IF;
    SELECT e.stream_version, e.global_position INTO v_current, v_tail
      FROM events e WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
    v_current := coalesce(v_current, 0);
    IF v_current <> p_expected THEN
        RAISE EXCEPTION 'stream %% is at version %%, not the expected %%', quote_literal(p_stream_id), v_current, p_expected
            USING ERRCODE = 'WV001', DETAIL = v_current::text;
    END IF;
    -- This transaction's range of positions: [v_first, v_first + 1000000).
    v_first := %1$s + pg_current_xact_id()::text::bigint * 1000000;
    IF v_tail >= v_first + 1000000 THEN
        RAISE EXCEPTION 'stream %% moved on at version %% in a newer transaction', quote_literal(p_stream_id), v_current
            USING ERRCODE = 'WV001', DETAIL = v_current::text;
    END IF;
    -- Positions this transaction took already (an earlier append in it) are visible to it alone.
    SELECT coalesce(max(e.global_position), v_first) INTO v_last
      FROM events e WHERE e.global_position > v_first AND e.global_position < v_first + 1000000;
    IF v_last + v_count >= v_first + 1000000 THEN
        RAISE EXCEPTION 'one transaction can append at most 999999 events' USING ERRCODE = 'WV003';
    END IF;
    RETURN QUERY
    INSERT INTO events AS e (global_position, stream_id, stream_version, event_id, event_type, event_version,
                             occurred_at, correlation_id, causation_id, producer, traceparent, payload)
    SELECT v_last + u.n, p_stream_id, p_expected + u.n::integer, u.id, u.t, u.v, u.o, u.c, u.ca, u.p, u.tp, u.pl
      FROM unnest(p_event_ids, p_types, p_versions, p_occurred, p_correlation, p_causation, p_producer,
                  p_traceparent, p_payloads) WITH ORDINALITY AS u(id, t, v, o, c, ca, p, tp, pl, n)
    RETURNING e.event_id, e.stream_version, e.global_position, false;
    -- No pg_notify here any more: a transaction that notifies holds the server's notify lock through
    -- its commit, fsync included, which would serialise appends again. The store notifies once the
    -- append has committed, from a statement of its own.
END $body$
    $f$, v_base);
END $migration$;

-- A run's folded state kept beside its log, so a rebuild folds only the events after it. Snapshots
-- are a cache: `projection` names the fold's code (a version and a hash of its source), and one
-- written by another fold is ignored. They may be replaced or removed; the events never are.
CREATE TABLE wave_snapshots (
    stream_id      text        PRIMARY KEY,
    stream_version integer     NOT NULL,
    projection     text        NOT NULL,
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now()
);
