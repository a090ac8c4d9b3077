-- PINs (hashed like passwords) and the devices that may unlock with one:
-- a device key is handed out at a password log-in that names the device,
-- and only its SHA-256 is kept.
CREATE TABLE pins (
    tenant_id  UUID NOT NULL,
    account_id UUID NOT NULL,
    hash       TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE devices (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    account_id   UUID NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    failed_pins  INTEGER NOT NULL DEFAULT 0,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX devices_account ON devices (tenant_id, account_id);
