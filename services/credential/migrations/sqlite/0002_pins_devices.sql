-- PINs (hashed like passwords) and the devices that may unlock with one:
-- a device key is handed out at a password log-in that names the device,
-- and only its SHA-256 is kept.
CREATE TABLE pins (
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    hash       TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    failed_pins  INTEGER NOT NULL DEFAULT 0,
    revoked_at   TIMESTAMP
);
CREATE INDEX devices_account ON devices (tenant_id, account_id);
