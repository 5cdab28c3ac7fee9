-- Runtime bookkeeping beside the log. Unlike `events`, these rows change: they are the services'
-- progress and the durable timers, never facts about a run.

-- Which events a consumer has handled. Written in the same transaction as the consumer's output,
-- so a redelivered event is recognised and its handling skipped.
CREATE TABLE wave_handled (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- A follower's position in the global order (embedded subscriptions, the outbox relay).
CREATE TABLE wave_positions (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- "Emit this event at due_at". Fired in the transaction that appends the event, so exactly once.
CREATE TABLE wave_timers (
    timer_id   text        PRIMARY KEY,
    stream_id  text        NOT NULL,
    due_at     timestamptz NOT NULL,
    envelope   text        NOT NULL,
    status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz
);
CREATE INDEX wave_timers_pending ON wave_timers (due_at) WHERE status = 'pending';
