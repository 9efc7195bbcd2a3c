-- Voice: calls (every leg: inbound, placed by the API, dialed), the statuses each went through
-- with the status callback each caused, what each leg said and heard (its transcript), and the
-- recordings <Record> made. Times are Unix seconds on the emulator's clock.

CREATE TABLE calls (
    seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
    sid                    TEXT NOT NULL UNIQUE,
    -- The call this leg belongs to (itself for the first leg), so a call's legs are found together.
    root_sid               TEXT NOT NULL,
    parent_call_sid        TEXT,
    direction              TEXT NOT NULL,
    from_address           TEXT NOT NULL,
    to_address             TEXT NOT NULL,
    phone_number_sid       TEXT,
    status                 TEXT NOT NULL,
    answered_by            TEXT,
    -- Where status changes are posted, for which events (space-separated), and how.
    status_callback        TEXT,
    status_callback_method TEXT NOT NULL DEFAULT 'POST',
    status_callback_events TEXT NOT NULL DEFAULT 'completed',
    date_created           INTEGER NOT NULL,
    date_updated           INTEGER NOT NULL,
    start_time             INTEGER,
    answer_time            INTEGER,
    end_time               INTEGER
);
CREATE INDEX calls_by_root ON calls (root_sid, seq);

CREATE TABLE call_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid        TEXT NOT NULL REFERENCES calls(sid) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    at              INTEGER NOT NULL,
    callback_url    TEXT,
    callback_status INTEGER,
    callback_error  TEXT
);
CREATE INDEX call_events_by_call ON call_events (call_sid, seq);

-- One line of what happened on a leg: a verb carried out, a webhook made, the caller's input.
CREATE TABLE call_transcript (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid TEXT NOT NULL REFERENCES calls(sid) ON DELETE CASCADE,
    root_sid TEXT NOT NULL,
    at       INTEGER NOT NULL,
    entry    TEXT NOT NULL
);
CREATE INDEX transcript_by_root ON call_transcript (root_sid, seq);
CREATE INDEX transcript_by_call ON call_transcript (call_sid, seq);

-- Recordings are silent: what the caller said (when a test says it) is kept as its text.
CREATE TABLE recordings (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sid          TEXT NOT NULL UNIQUE,
    call_sid     TEXT NOT NULL,
    duration     INTEGER NOT NULL,
    source       TEXT NOT NULL,
    speech       TEXT NOT NULL DEFAULT '',
    date_created INTEGER NOT NULL,
    start_time   INTEGER NOT NULL
);
CREATE INDEX recordings_by_call ON recordings (call_sid, seq);
