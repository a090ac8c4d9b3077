-- Every e-mail the service was asked for, stored before any attempt to send
-- it (an outbox of mail): a worker claims due rows with a lease, sends them
-- and records the outcome. request_id makes requests idempotent.
-- variables may hold a link token or a TOTP key: it is cleared once the
-- delivery ends (SENT, FAILED, RATE_LIMITED).
CREATE TABLE deliveries (
    id                TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL,
    tenant_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL DEFAULT '',
    template          TEXT NOT NULL,
    recipient_address TEXT NOT NULL DEFAULT '', -- '' = the account's, looked up when sending
    recipient_name    TEXT NOT NULL DEFAULT '',
    locale            TEXT NOT NULL DEFAULT '', -- '' = the account's, else the tenant's
    variables         TEXT,                     -- JSON object; NULL once ended
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    rate_key          TEXT NOT NULL DEFAULT '', -- folded recipient address once admitted
    admitted_at       TIMESTAMP,              -- passed the rate limits (counts towards them)
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    sent_at           TIMESTAMP,
    next_attempt_at   TIMESTAMP,
    lease_until       TIMESTAMP,
    CONSTRAINT deliveries_request_id_key UNIQUE (request_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_rate_recipient ON deliveries (rate_key, admitted_at);
CREATE INDEX deliveries_rate_tenant ON deliveries (tenant_id, admitted_at);
