-- Passwords, their history, failed log-in counts, sessions with their
-- refresh tokens, log-in tickets and the access-token signing keys. Every
-- secret is stored hashed: passwords as Argon2id PHC strings, tokens and
-- tickets as SHA-256.
CREATE TABLE passwords (
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    hash       TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    temporary  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE password_history (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_history_account ON password_history (tenant_id, account_id, created_at);

CREATE TABLE login_attempts (
    tenant_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    PRIMARY KEY (tenant_id, account_id)
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    device_name  TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    amr          TEXT NOT NULL DEFAULT '',
    auth_time    TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE INDEX sessions_account ON sessions (tenant_id, account_id, id);

CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_tickets (
    hash        BLOB PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    step        TEXT NOT NULL,
    done_steps  TEXT NOT NULL DEFAULT '',
    amr         TEXT NOT NULL DEFAULT '',
    auth_time   TIMESTAMP NOT NULL,
    device_name TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    private_key BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retire_at   TIMESTAMP
);
