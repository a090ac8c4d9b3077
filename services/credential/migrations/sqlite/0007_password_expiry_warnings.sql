-- The "password expires soon" e-mails sent: one row per account, naming
-- the password (its changed_at) and the tenant's max_age_days it was
-- warned for, so that each expiry is warned once: a new password, or a
-- new maximum age, is a new expiry.
CREATE TABLE password_expiry_warnings (
    tenant_id           TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    password_changed_at TIMESTAMP NOT NULL,
    max_age_days        INTEGER NOT NULL,
    warned_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);
