-- Usernames and e-mail addresses are compared in a PRECIS form (RFC 8265:
-- width folded, lower-cased, normalized) instead of lower(): "ＪＡＮ" and
-- "jan" are one login. The folded columns of rows written before are
-- rewritten by the service at its start (sqlstore.RefoldLogins), which
-- the database cannot compute; login_key_version says which rows have
-- the current form (1), so that runs once per row.
ALTER TABLE accounts ADD COLUMN login_key_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE released_usernames ADD COLUMN login_key_version INTEGER NOT NULL DEFAULT 0;

-- The rows still to rewrite, found without reading the others.
CREATE INDEX accounts_login_key_stale ON accounts (id) WHERE login_key_version < 1;
CREATE INDEX released_usernames_login_key_stale ON released_usernames (tenant_id, username_folded) WHERE login_key_version < 1;
