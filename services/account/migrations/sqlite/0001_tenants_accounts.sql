-- Tenants and their accounts. Usernames and e-mail addresses are unique per
-- tenant in their folded (lower-case) form; the typed form is kept for
-- display.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    policy        TEXT NOT NULL, -- JSON, the REST API's field names
    terms_version TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CONSTRAINT tenants_code_key UNIQUE (code)
);

CREATE TABLE accounts (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    username               TEXT NOT NULL,
    username_folded        TEXT NOT NULL,
    email                  TEXT NOT NULL,
    email_folded           TEXT NOT NULL,
    display_name           TEXT NOT NULL,
    roles                  TEXT NOT NULL, -- comma-separated role names
    status                 TEXT NOT NULL,
    lock_reason            TEXT NOT NULL DEFAULT '',
    locale                 TEXT NOT NULL DEFAULT '',
    accepted_terms_version TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    last_login_at          TIMESTAMP,
    activated_at           TIMESTAMP,
    CONSTRAINT accounts_username_key UNIQUE (tenant_id, username_folded),
    CONSTRAINT accounts_email_key UNIQUE (tenant_id, email_folded)
);
