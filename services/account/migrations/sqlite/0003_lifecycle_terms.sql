-- When an administrator lifted an inactivity lock: the inactivity clock
-- restarts there.
ALTER TABLE accounts ADD COLUMN fresh_start_at TIMESTAMP;

-- The inactivity sweep walks a tenant's ACTIVE accounts in id order.
CREATE INDEX accounts_tenant_status_id ON accounts (tenant_id, status, id);

-- Usernames an account gave up, kept from other accounts for a while so a
-- login ID is not taken over by someone else right after a rename.
CREATE TABLE released_usernames (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    username_folded TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    released_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, username_folded)
);

-- Every published version of a tenant's terms; tenants.terms_version names
-- the current one.
CREATE TABLE terms (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    version      TEXT NOT NULL,
    text         TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    CONSTRAINT terms_pkey PRIMARY KEY (tenant_id, version)
);
