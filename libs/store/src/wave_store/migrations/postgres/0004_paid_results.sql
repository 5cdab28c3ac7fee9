-- Results of paid effects (a model's answer) of handlings not yet recorded, kept as soon as they are
-- paid for, so a process killed before its handling commits does not pay for them again after the
-- restart (wave_store/paid.py). Recording the handling deletes its rows: the log then holds the call.
CREATE TABLE wave_paid_results (
    consumer   text        NOT NULL,
    cause_id   uuid        NOT NULL,
    key        text        NOT NULL,
    document   text        NOT NULL,
    kept_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, cause_id, key)
);
