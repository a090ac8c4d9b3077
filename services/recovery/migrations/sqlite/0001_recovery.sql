-- E-mailed link tokens (activation, password reset): only the SHA-256 of
-- the 256-bit token is kept. A token is usable while used_at and voided_at
-- are NULL and expires_at is ahead; consuming it is one UPDATE … WHERE
-- used_at IS NULL, so one of any number of concurrent completions wins.
CREATE TABLE link_tokens (
    hash         BLOB PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,              -- ACTIVATION | RESET
    request_id   TEXT NOT NULL DEFAULT '',   -- idempotency key of the request that issued it
    by_admin     BOOLEAN NOT NULL DEFAULT FALSE,
    failed_tries INTEGER NOT NULL DEFAULT 0, -- wrong proofs at :verify
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP,
    voided_at    TIMESTAMP
);
CREATE INDEX link_tokens_account ON link_tokens (tenant_id, account_id, kind);
CREATE UNIQUE INDEX link_tokens_request ON link_tokens (kind, request_id) WHERE request_id <> '';

-- Reset tickets: proof that :verify passed for a link token, single use,
-- short-lived; again only the SHA-256 is kept.
CREATE TABLE reset_tickets (
    hash          BLOB PRIMARY KEY,
    token_hash    BLOB NOT NULL,
    tenant_id     TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    verified_with TEXT NOT NULL DEFAULT '', -- comma-separated: TOTP_CODE, SECURITY_ANSWERS
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    used_at       TIMESTAMP,
    voided_at     TIMESTAMP
);
CREATE INDEX reset_tickets_token ON reset_tickets (token_hash);

-- Forgot-password requests, stored as they arrive (one write, no look-up)
-- and resolved by the worker, so the answer cannot tell whether the
-- account exists.
CREATE TABLE reset_requests (
    id          TEXT PRIMARY KEY,
    tenant_code TEXT NOT NULL,
    login       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until TIMESTAMP
);
CREATE INDEX reset_requests_due ON reset_requests (created_at);

-- Security questions of an account, the answers Argon2id-hashed after
-- normalization.
CREATE TABLE security_questions (
    tenant_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    position    INTEGER NOT NULL,
    question    TEXT NOT NULL,
    answer_hash TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id, position)
);

-- What the service knows of an account's recovery: its e-mail address
-- proven by a completed link.
CREATE TABLE recovery_accounts (
    tenant_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    email_verified_at TIMESTAMP,
    PRIMARY KEY (tenant_id, account_id)
);
