-- Keys of create calls a client may retry (libs/idempotency): the first
-- call's request fingerprint and answer, per tenant and caller, written in
-- the create's own transaction and kept 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id   TEXT NOT NULL,
    caller      TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    BLOB,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, caller, idem_key)
);

-- Pruning finds the expired keys without reading the others.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
