-- Sync: services (IS), their objects — documents (ET), lists (ES), maps (MP) and message
-- streams (TO) share one table, told apart by `kind` — list and map items, and per-identity
-- permissions. `revision` counts writes (rendered in hex); `date_expires` is emulator time, and
-- rows past it are never served and are deleted by the next write or clock move.

CREATE TABLE sync_services (
    seq                             INTEGER PRIMARY KEY AUTOINCREMENT,
    sid                             TEXT NOT NULL UNIQUE,
    -- Only the account's default service has one ("default"); it is not settable over REST.
    unique_name                     TEXT UNIQUE,
    friendly_name                   TEXT,
    webhook_url                     TEXT,
    webhooks_from_rest_enabled      INTEGER NOT NULL,
    reachability_webhooks_enabled   INTEGER NOT NULL,
    acl_enabled                     INTEGER NOT NULL,
    reachability_debouncing_enabled INTEGER NOT NULL,
    reachability_debouncing_window  INTEGER NOT NULL,
    date_created                    INTEGER NOT NULL,
    date_updated                    INTEGER NOT NULL
);

CREATE TABLE sync_objects (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sid          TEXT NOT NULL UNIQUE,
    service_sid  TEXT NOT NULL REFERENCES sync_services(sid) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('document', 'list', 'map', 'stream')),
    unique_name  TEXT,
    revision     INTEGER NOT NULL,
    -- A document's JSON; NULL for the other kinds.
    data         TEXT,
    -- The index the next item of a list gets: indexes only grow, so one is never reused.
    next_index   INTEGER NOT NULL DEFAULT 0,
    date_expires INTEGER,
    created_by   TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL,
    UNIQUE (service_sid, kind, unique_name)
);
CREATE INDEX sync_objects_by_service ON sync_objects (service_sid, kind, seq);
CREATE INDEX sync_objects_expiring ON sync_objects (date_expires) WHERE date_expires IS NOT NULL;

-- A list item has an `idx`, a map item a `key`, never both.
CREATE TABLE sync_items (
    object_sid   TEXT NOT NULL REFERENCES sync_objects(sid) ON DELETE CASCADE,
    idx          INTEGER,
    key          TEXT,
    data         TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    date_expires INTEGER,
    created_by   TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL,
    CHECK ((idx IS NULL) <> (key IS NULL)),
    UNIQUE (object_sid, idx),
    UNIQUE (object_sid, key)
);
CREATE INDEX sync_items_expiring ON sync_items (date_expires) WHERE date_expires IS NOT NULL;

CREATE TABLE sync_permissions (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    object_sid TEXT NOT NULL REFERENCES sync_objects(sid) ON DELETE CASCADE,
    identity   TEXT NOT NULL,
    read       INTEGER NOT NULL,
    write      INTEGER NOT NULL,
    manage     INTEGER NOT NULL,
    UNIQUE (object_sid, identity)
);
