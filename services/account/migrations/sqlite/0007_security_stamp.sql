-- Moves on when another service changes what it reports about the
-- account's security (password, PIN, second factor, recovery
-- information: NoteSecurityChange); GET /v1/me keeps those answers only
-- while it stays the same.
ALTER TABLE accounts ADD COLUMN security_stamp BIGINT NOT NULL DEFAULT 0;
