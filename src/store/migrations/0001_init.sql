-- The whole control plane. Timestamps are Unix seconds on the emulator's clock; `seq` gives
-- every table a stable creation order for paging.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Content-addressed file contents: a re-upload of the same bytes stores nothing new.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE services (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    sid                 TEXT NOT NULL UNIQUE,
    unique_name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    friendly_name       TEXT NOT NULL,
    include_credentials INTEGER NOT NULL,
    ui_editable         INTEGER NOT NULL,
    domain_base         TEXT NOT NULL UNIQUE,
    date_created        INTEGER NOT NULL,
    date_updated        INTEGER NOT NULL
);

CREATE TABLE environments (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    sid           TEXT NOT NULL UNIQUE,
    service_sid   TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    unique_name   TEXT NOT NULL,
    domain_suffix TEXT,
    domain_name   TEXT NOT NULL UNIQUE,
    build_sid     TEXT,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL,
    UNIQUE (service_sid, unique_name)
);

-- Functions and assets (both ZH).
CREATE TABLE resources (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    sid           TEXT NOT NULL UNIQUE,
    service_sid   TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('function', 'asset')),
    friendly_name TEXT NOT NULL,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
);
CREATE INDEX resources_by_service ON resources (service_sid, kind, seq);

-- Function and asset versions (both ZN).
CREATE TABLE versions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sid          TEXT NOT NULL UNIQUE,
    service_sid  TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    resource_sid TEXT NOT NULL REFERENCES resources(sid) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    path         TEXT NOT NULL,
    visibility   TEXT NOT NULL CHECK (visibility IN ('public', 'protected', 'private')),
    blob_hash    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    date_created INTEGER NOT NULL
);
CREATE INDEX versions_by_resource ON versions (resource_sid, seq);

CREATE TABLE builds (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    sid            TEXT NOT NULL UNIQUE,
    service_sid    TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('building', 'completed', 'failed')),
    dependencies   TEXT NOT NULL,
    runtime        TEXT NOT NULL,
    failure_reason TEXT,
    date_created   INTEGER NOT NULL,
    date_updated   INTEGER NOT NULL
);

-- A build is an immutable snapshot of its versions, so later deletes of functions or versions
-- never change what a build serves.
CREATE TABLE build_versions (
    build_sid    TEXT NOT NULL REFERENCES builds(sid) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    version_sid  TEXT NOT NULL,
    resource_sid TEXT NOT NULL,
    kind         TEXT NOT NULL,
    path         TEXT NOT NULL,
    visibility   TEXT NOT NULL,
    blob_hash    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    PRIMARY KEY (build_sid, position)
);
CREATE INDEX build_versions_by_version ON build_versions (version_sid);

CREATE TABLE deployments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    sid             TEXT NOT NULL UNIQUE,
    service_sid     TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    environment_sid TEXT NOT NULL REFERENCES environments(sid) ON DELETE CASCADE,
    build_sid       TEXT,
    date_created    INTEGER NOT NULL,
    date_updated    INTEGER NOT NULL
);

CREATE TABLE variables (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    sid             TEXT NOT NULL UNIQUE,
    service_sid     TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    environment_sid TEXT NOT NULL REFERENCES environments(sid) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    date_created    INTEGER NOT NULL,
    date_updated    INTEGER NOT NULL,
    UNIQUE (environment_sid, key)
);

CREATE TABLE logs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    sid             TEXT NOT NULL UNIQUE,
    service_sid     TEXT NOT NULL REFERENCES services(sid) ON DELETE CASCADE,
    environment_sid TEXT NOT NULL REFERENCES environments(sid) ON DELETE CASCADE,
    build_sid       TEXT NOT NULL,
    deployment_sid  TEXT NOT NULL,
    function_sid    TEXT NOT NULL,
    request_sid     TEXT NOT NULL,
    level           TEXT NOT NULL,
    message         TEXT NOT NULL,
    date_created    INTEGER NOT NULL
);
CREATE INDEX logs_by_environment ON logs (environment_sid, seq);
