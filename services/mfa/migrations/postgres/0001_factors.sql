-- TOTP factors: at most one per account. The secret is sealed with
-- AES-256-GCM under the key ring named by key_id (associated data: tenant,
-- account and factor id). last_step is the last accepted time step: a code
-- is accepted by a conditional UPDATE (last_step < the code's step), so
-- one code is accepted once, however many submit it at once.
CREATE TABLE factors (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    type         TEXT NOT NULL DEFAULT 'TOTP',
    state        TEXT NOT NULL,            -- ENROLLING, EMAILED, ACTIVE
    key_id       TEXT NOT NULL,
    secret       BYTEA NOT NULL,
    last_step    BIGINT NOT NULL DEFAULT 0,
    failed_codes INTEGER NOT NULL DEFAULT 0, -- wrong codes while unconfirmed
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT factors_account_key UNIQUE (tenant_id, account_id)
);

-- One-time recovery codes: the lookup part in the clear (unique per
-- account), the whole code hashed with Argon2id. used_at is set once, by a
-- conditional UPDATE.
CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    lookup     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    CONSTRAINT recovery_codes_lookup_key UNIQUE (tenant_id, account_id, lookup)
);

-- Requests for the authenticator key by e-mail, stored as given and
-- answered at once the same way for every login; a worker resolves them
-- (lease_until while it works on one) and deletes them when done.
CREATE TABLE key_requests (
    id          TEXT PRIMARY KEY,
    tenant_code TEXT NOT NULL,
    login       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX key_requests_due ON key_requests (due_at);
