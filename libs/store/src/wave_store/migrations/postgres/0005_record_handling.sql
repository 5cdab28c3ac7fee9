-- A consumer's handling of one event stored by one statement: the handled mark, the dropped paid
-- results (the run's all when its outputs end it), the output events (wave_append: the stream's expected version checked), the timers
-- scheduled and cancelled. Called outside an explicit transaction, the statement is its own
-- transaction: one round trip instead of BEGIN, four to five statements and COMMIT.
--
-- The handled mark comes first and decides: when the consumer handled the event before (the mark is
-- there, or another transaction storing it commits meanwhile), one row with `handled_before` is
-- returned and nothing is written. Otherwise the rows are the appended events (none when the handling
-- had no output events). Any refusal of the append (WV001 version conflict, WV002 event ids) raises,
-- and the whole handling is rolled back with it.
CREATE FUNCTION wave_record_handling(
    p_consumer text, p_cause uuid, p_stream_id text, p_expected integer,
    p_event_ids uuid[], p_types text[], p_versions integer[], p_occurred timestamptz[], p_correlation text[],
    p_causation uuid[], p_producer text[], p_traceparent text[], p_payloads jsonb[],
    p_timer_ids text[], p_timer_streams text[], p_timer_due timestamptz[], p_timer_envelopes text[],
    p_cancel text[], p_ends_run boolean
) RETURNS TABLE (event_id uuid, stream_version integer, global_position bigint, duplicate boolean, handled_before boolean)
LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO wave_handled (consumer, event_id) VALUES (p_consumer, p_cause) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::uuid, NULL::integer, NULL::bigint, true, true;
        RETURN;
    END IF;
    DELETE FROM wave_paid_results r WHERE r.consumer = p_consumer AND r.cause_id = p_cause;
    IF cardinality(p_event_ids) > 0 THEN
        RETURN QUERY SELECT a.event_id, a.stream_version, a.global_position, a.duplicate, false
            FROM wave_append(p_stream_id, p_expected, p_event_ids, p_types, p_versions, p_occurred, p_correlation,
                             p_causation, p_producer, p_traceparent, p_payloads) AS a;
    END IF;
    IF p_ends_run THEN  -- the run ends with these events: nothing of it will pay again
        DELETE FROM wave_paid_results r WHERE r.cause_id IN (SELECT e.event_id FROM events e WHERE e.stream_id = p_stream_id);
    END IF;
    IF cardinality(p_timer_ids) > 0 THEN
        INSERT INTO wave_timers (timer_id, stream_id, due_at, envelope)
        SELECT * FROM unnest(p_timer_ids, p_timer_streams, p_timer_due, p_timer_envelopes)
        ON CONFLICT (timer_id) DO NOTHING;
    END IF;
    IF cardinality(p_cancel) > 0 THEN
        UPDATE wave_timers t SET status = 'cancelled', settled_at = now()
         WHERE t.timer_id = ANY (p_cancel) AND t.status = 'pending';
    END IF;
END $body$;
