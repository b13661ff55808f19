-- Initial schema. Timestamps are INTEGER microseconds since the Unix epoch
-- (UTC). Sealed columns hold the Sealer's output (base64 ciphertext, or the
-- plaintext when encryption is off) and have a twin *_key column holding the
-- key id ('' = plaintext). Columns a listing reads come first; the sealed
-- value comes last, so reading a summary never touches its overflow pages.

CREATE TABLE integrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    unique_key        TEXT    NOT NULL UNIQUE,
    provider          TEXT    NOT NULL,
    client_id         TEXT    NOT NULL DEFAULT '',
    scopes            TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    client_secret_key TEXT    NOT NULL DEFAULT '',
    client_secret     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE connections (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_config_key     TEXT    NOT NULL,
    connection_id           TEXT    NOT NULL,
    auth_mode               TEXT    NOT NULL,
    expires_at              INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    last_refresh_at         INTEGER,
    last_refresh_failure_at INTEGER,
    last_refresh_error      TEXT    NOT NULL DEFAULT '',
    refresh_failures        INTEGER NOT NULL DEFAULT 0,
    refresh_lease_holder    TEXT    NOT NULL DEFAULT '',
    refresh_lease_until     INTEGER,
    connection_config       TEXT    NOT NULL DEFAULT '{}',
    metadata                TEXT    NOT NULL DEFAULT '{}',
    credentials_key         TEXT    NOT NULL DEFAULT '',
    credentials             TEXT    NOT NULL,
    UNIQUE (provider_config_key, connection_id)
) STRICT;
-- Listing one integration's connections newest first (rowid is implied).
CREATE INDEX connections_provider_config_key ON connections (provider_config_key);
-- Exact connection id lookups, and counting search matches: a covering
-- index far smaller than the table.
CREATE INDEX connections_connection_id ON connections (connection_id);
-- Search pages: scanned newest first without touching the table, stopping
-- at the page's last match.
CREATE INDEX connections_listing ON connections (id, provider_config_key, connection_id);
-- KeyUsage and Reseal.
CREATE INDEX connections_credentials_key ON connections (credentials_key);

CREATE TABLE oauth_sessions (
    id                  TEXT    PRIMARY KEY,
    provider            TEXT    NOT NULL,
    provider_config_key TEXT    NOT NULL,
    connection_id       TEXT    NOT NULL,
    callback_url        TEXT    NOT NULL DEFAULT '',
    auth_mode           TEXT    NOT NULL DEFAULT '',
    connection_config   TEXT    NOT NULL DEFAULT '{}',
    ws_client_id        TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    secrets_key         TEXT    NOT NULL DEFAULT '',
    secrets             TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX oauth_sessions_expires_at ON oauth_sessions (expires_at);

CREATE TABLE activity (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    time                INTEGER NOT NULL,
    action              TEXT    NOT NULL,
    success             INTEGER NOT NULL,
    provider_config_key TEXT    NOT NULL DEFAULT '',
    connection_id       TEXT    NOT NULL DEFAULT '',
    provider            TEXT    NOT NULL DEFAULT '',
    method              TEXT    NOT NULL DEFAULT '',
    endpoint            TEXT    NOT NULL DEFAULT '',
    status              INTEGER NOT NULL DEFAULT 0,
    duration_ms         INTEGER NOT NULL DEFAULT 0,
    attempts            INTEGER NOT NULL DEFAULT 0,
    message             TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX activity_time ON activity (time);
CREATE INDEX activity_connection ON activity (provider_config_key, connection_id);

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
