-- The statuses a message or a call leg went through move into its row, as a JSON array oldest
-- first (each `{"status", "at", "callback_url"?, "callback_status"?, "callback_error"?}`, `at`
-- in ISO form, as exports write it): a message that goes through its statuses at once then
-- writes its own row only, not a row per status in a second table and its index.
ALTER TABLE messages ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN history TEXT NOT NULL DEFAULT '[]';

-- json_patch leaves out the callback's keys that are null, as exports do.
UPDATE messages SET history = (
    SELECT json_group_array(json_patch(
        json_object('status', e.status, 'at', strftime('%Y-%m-%dT%H:%M:%SZ', e.at, 'unixepoch')),
        json_object('callback_url', e.callback_url, 'callback_status', e.callback_status,
                    'callback_error', e.callback_error)) ORDER BY e.seq)
    FROM message_events AS e WHERE e.message_sid = messages.sid
);
UPDATE calls SET history = (
    SELECT json_group_array(json_patch(
        json_object('status', e.status, 'at', strftime('%Y-%m-%dT%H:%M:%SZ', e.at, 'unixepoch')),
        json_object('callback_url', e.callback_url, 'callback_status', e.callback_status,
                    'callback_error', e.callback_error)) ORDER BY e.seq)
    FROM call_events AS e WHERE e.call_sid = calls.sid
);

DROP TABLE message_events;
DROP TABLE call_events;
