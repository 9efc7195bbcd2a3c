-- Verify and Lookup: verification services, the verifications started under them with each code
-- sent (one row per send attempt; an email's content is kept with its attempt), and the phone
-- numbers fixtures describe for Lookup. Times are Unix seconds on the emulator's clock.

-- `config` holds the settable fields (friendly_name, code_length, …) as a JSON object keyed as
-- the API renders them. `pinned_code` and `disabled_channels` are twirl's own: a fixture can fix
-- a service's codes, or turn a delivery channel off as Twilio's console can.
CREATE TABLE verify_services (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    sid               TEXT NOT NULL UNIQUE,
    config            TEXT NOT NULL,
    pinned_code       TEXT,
    disabled_channels TEXT NOT NULL DEFAULT '[]',
    date_created      INTEGER NOT NULL,
    date_updated      INTEGER NOT NULL
);

CREATE TABLE verifications (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    sid                  TEXT NOT NULL UNIQUE,
    service_sid          TEXT NOT NULL REFERENCES verify_services(sid) ON DELETE CASCADE,
    to_address           TEXT NOT NULL,
    channel              TEXT NOT NULL,
    status               TEXT NOT NULL,
    code                 TEXT NOT NULL,
    -- Each check: {"at", "code", "correct"}, as a JSON array.
    checks               TEXT NOT NULL DEFAULT '[]',
    custom_friendly_name TEXT,
    amount               TEXT,
    payee                TEXT,
    lookup               TEXT NOT NULL DEFAULT '{}',
    expires_at           INTEGER NOT NULL,
    date_created         INTEGER NOT NULL,
    date_updated         INTEGER NOT NULL
);
CREATE INDEX verifications_by_to ON verifications (service_sid, to_address, seq);

-- One code sent: by text or WhatsApp (the Message), by a call (the Call), or by email (the mail).
CREATE TABLE verification_attempts (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    sid              TEXT NOT NULL UNIQUE,
    verification_sid TEXT NOT NULL REFERENCES verifications(sid) ON DELETE CASCADE,
    channel          TEXT NOT NULL,
    to_address       TEXT NOT NULL,
    delivery_sid     TEXT,
    mail             TEXT,
    at               INTEGER NOT NULL
);
CREATE INDEX attempts_by_verification ON verification_attempts (verification_sid, seq);

-- What Lookup answers about a number, beyond what its numbering plan says: each package as a
-- JSON object, merged over twirl's defaults.
CREATE TABLE lookup_numbers (
    phone_number TEXT PRIMARY KEY,
    packages     TEXT NOT NULL
);
