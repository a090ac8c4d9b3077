-- Passwords, their history, failed log-in counts, sessions with their
-- refresh tokens, log-in tickets and the access-token signing keys. Every
-- secret is stored hashed: passwords as Argon2id PHC strings, tokens and
-- tickets as SHA-256.
CREATE TABLE passwords (
    tenant_id  UUID NOT NULL,
    account_id UUID NOT NULL,
    hash       TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    temporary  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE password_history (
    id         UUID PRIMARY KEY,
    tenant_id  UUID NOT NULL,
    account_id UUID NOT NULL,
    hash       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_history_account ON password_history (tenant_id, account_id, created_at);

CREATE TABLE login_attempts (
    tenant_id    UUID NOT NULL,
    account_id   UUID NOT NULL,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    account_id   UUID NOT NULL,
    device_name  TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    amr          TEXT NOT NULL DEFAULT '',
    auth_time    TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX sessions_account ON sessions (tenant_id, account_id, id);

CREATE TABLE refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id),
    tenant_id  UUID NOT NULL,
    account_id UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_tickets (
    hash        BYTEA PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    account_id  UUID NOT NULL,
    step        TEXT NOT NULL,
    done_steps  TEXT NOT NULL DEFAULT '',
    amr         TEXT NOT NULL DEFAULT '',
    auth_time   TIMESTAMPTZ NOT NULL,
    device_name TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retire_at   TIMESTAMPTZ
);
