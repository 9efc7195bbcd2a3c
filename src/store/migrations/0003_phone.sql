-- The phone network: the account's numbers, messages with their media and status history, and
-- the alerts webhooks raise. Times are Unix seconds on the emulator's clock.

-- Owned numbers. `config` holds the settable fields (webhook URLs and methods, …) as a JSON
-- object keyed as the API names them.
CREATE TABLE phone_numbers (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    sid           TEXT NOT NULL UNIQUE,
    phone_number  TEXT NOT NULL UNIQUE,
    friendly_name TEXT NOT NULL,
    config        TEXT NOT NULL,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
);

CREATE TABLE messages (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    sid                   TEXT NOT NULL UNIQUE,
    direction             TEXT NOT NULL,
    from_address          TEXT NOT NULL,
    to_address            TEXT NOT NULL,
    body                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    messaging_service_sid TEXT,
    num_segments          INTEGER NOT NULL,
    error_code            INTEGER,
    error_message         TEXT,
    -- Where status changes are posted (the API's StatusCallback, or a <Message action>).
    status_callback       TEXT,
    status_callback_method TEXT NOT NULL DEFAULT 'POST',
    -- A scheduled message's send time.
    send_at               INTEGER,
    date_created          INTEGER NOT NULL,
    date_updated          INTEGER NOT NULL,
    date_sent             INTEGER
);
CREATE INDEX messages_by_to ON messages (to_address, seq);

CREATE TABLE message_media (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sid          TEXT NOT NULL UNIQUE,
    message_sid  TEXT NOT NULL REFERENCES messages(sid) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    url          TEXT NOT NULL,
    date_created INTEGER NOT NULL
);
CREATE INDEX media_by_message ON message_media (message_sid, seq);

-- Each status a message went through, with the status callback it caused.
CREATE TABLE message_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_sid     TEXT NOT NULL REFERENCES messages(sid) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    at              INTEGER NOT NULL,
    callback_url    TEXT,
    callback_status INTEGER,
    callback_error  TEXT
);
CREATE INDEX events_by_message ON message_events (message_sid, seq);

CREATE TABLE alerts (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    sid               TEXT NOT NULL UNIQUE,
    error_code        TEXT NOT NULL,
    log_level         TEXT NOT NULL,
    alert_text        TEXT NOT NULL,
    resource_sid      TEXT,
    service_sid       TEXT,
    request_method    TEXT,
    request_url       TEXT,
    request_variables TEXT,
    request_headers   TEXT,
    response_body     TEXT,
    response_headers  TEXT,
    date_created      INTEGER NOT NULL
);
