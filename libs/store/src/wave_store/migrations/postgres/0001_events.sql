-- The event log. Positions are assigned inside wave_append under one advisory lock, so they increase
-- in commit order: a reader that has seen position P will never later find a committed event below P.
CREATE TABLE events (
    global_position bigint      PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL,
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    event_version   integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    correlation_id  text        NOT NULL,
    causation_id    uuid,
    producer        text        NOT NULL,
    traceparent     text,
    payload         jsonb       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

CREATE FUNCTION wave_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'WV005';
END $$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION wave_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION wave_refuse_change();

-- One round trip per append. Raises WV001 on a version conflict (DETAIL = actual version) and
-- WV002 when the batch is partly stored or stored on another stream; a batch stored whole on this
-- stream comes back with duplicate = true.
CREATE FUNCTION wave_append(
    p_stream_id text, p_expected integer, p_event_ids uuid[], p_types text[], p_versions integer[],
    p_occurred timestamptz[], p_correlation text[], p_causation uuid[], p_producer text[],
    p_traceparent text[], p_payloads jsonb[]
) RETURNS TABLE (event_id uuid, stream_version integer, global_position bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_count   integer := cardinality(p_event_ids);
    v_stored  integer;
    v_foreign integer;
    v_current integer;
    v_last    bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7461);
    SELECT count(*), count(*) FILTER (WHERE e.stream_id <> p_stream_id)
      INTO v_stored, v_foreign FROM events e WHERE e.event_id = ANY (p_event_ids);
    IF v_stored > 0 THEN
        IF v_stored = v_count AND v_foreign = 0 THEN
            RETURN QUERY SELECT e.event_id, e.stream_version, e.global_position, true
                FROM events e WHERE e.event_id = ANY (p_event_ids) ORDER BY e.global_position;
            RETURN;
        END IF;
        RAISE EXCEPTION '% of % event ids are stored already%; a batch for % must be stored whole or not at all',
            v_stored, v_count, CASE WHEN v_foreign > 0 THEN ' on another stream' ELSE '' END, quote_literal(p_stream_id)
            USING ERRCODE = 'WV002';
    END IF;
    SELECT coalesce(max(e.stream_version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream_id;
    IF v_current <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, not the expected %', quote_literal(p_stream_id), v_current, p_expected
            USING ERRCODE = 'WV001', DETAIL = v_current::text;
    END IF;
    SELECT coalesce(max(e.global_position), 0) INTO v_last FROM events e;
    RETURN QUERY
    INSERT INTO events AS e (global_position, stream_id, stream_version, event_id, event_type, event_version,
                             occurred_at, correlation_id, causation_id, producer, traceparent, payload)
    SELECT v_last + u.n, p_stream_id, p_expected + u.n::integer, u.id, u.t, u.v, u.o, u.c, u.ca, u.p, u.tp, u.pl
      FROM unnest(p_event_ids, p_types, p_versions, p_occurred, p_correlation, p_causation, p_producer,
                  p_traceparent, p_payloads) WITH ORDINALITY AS u(id, t, v, o, c, ca, p, tp, pl, n)
    RETURNING e.event_id, e.stream_version, e.global_position, false;
    -- Followers (the outbox relay) wake on this instead of polling; delivered at commit.
    PERFORM pg_notify('wave_events', (v_last + v_count)::text);
END $$;
