-- Events waiting to be published to NATS JetStream, written in the same
-- transaction as the change they describe.
CREATE TABLE outbox_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until TIMESTAMPTZ,
    sent_at     TIMESTAMPTZ,
    last_error  TEXT
);
CREATE INDEX outbox_events_pending ON outbox_events (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_events_sent ON outbox_events (sent_at) WHERE sent_at IS NOT NULL;
