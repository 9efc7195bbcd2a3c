-- The statuses a message or a call leg went through move into its row, as a JSON array oldest
-- first (each `{"status", "at", "callback_url"?, "callback_status"?, "callback_error"?}`, `at`
-- in ISO form, as exports write it): a message that goes through its statuses at once then
-- writes its own row only, not a row per status in a second table and its index. Messages are
-- numbered without AUTOINCREMENT, so that a message written does not also rewrite its table's
-- row of `sqlite_sequence` (ordering needs only increasing numbers, which a rowid gives).

CREATE TABLE messages_with_history (
    seq                   INTEGER PRIMARY KEY,
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
    date_sent             INTEGER,
    history               TEXT NOT NULL DEFAULT '[]'
);
-- json_patch leaves out the callback's keys that are null, as exports do.
INSERT INTO messages_with_history
SELECT m.seq, m.sid, m.direction, m.from_address, m.to_address, m.body, m.status,
       m.messaging_service_sid, m.num_segments, m.error_code, m.error_message, m.status_callback,
       m.status_callback_method, m.send_at, m.date_created, m.date_updated, m.date_sent,
       (SELECT json_group_array(json_patch(
                   json_object('status', e.status, 'at', strftime('%Y-%m-%dT%H:%M:%SZ', e.at, 'unixepoch')),
                   json_object('callback_url', e.callback_url, 'callback_status', e.callback_status,
                               'callback_error', e.callback_error)) ORDER BY e.seq)
        FROM message_events AS e WHERE e.message_sid = m.sid)
FROM messages AS m;

-- The media refer to the messages: kept aside while the old table goes (dropping it would delete
-- them, by their ON DELETE CASCADE), then put back beside the new one.
CREATE TEMP TABLE media_kept AS SELECT * FROM message_media;
DROP TABLE message_media;
DROP TABLE message_events;
DROP TABLE messages;
ALTER TABLE messages_with_history RENAME TO messages;
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
INSERT INTO message_media SELECT * FROM media_kept;
DROP TABLE media_kept;

ALTER TABLE calls ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
-- As for messages above.
UPDATE calls SET history = (
    SELECT json_group_array(json_patch(
        json_object('status', e.status, 'at', strftime('%Y-%m-%dT%H:%M:%SZ', e.at, 'unixepoch')),
        json_object('callback_url', e.callback_url, 'callback_status', e.callback_status,
                    'callback_error', e.callback_error)) ORDER BY e.seq)
    FROM call_events AS e WHERE e.call_sid = calls.sid
);
DROP TABLE call_events;
