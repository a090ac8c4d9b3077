-- Events waiting to be published to NATS JetStream, written in the same
-- transaction as the change they describe.
CREATE TABLE outbox_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until TIMESTAMP,
    sent_at     TIMESTAMP,
    last_error  TEXT
);
CREATE INDEX outbox_events_pending ON outbox_events (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_events_sent ON outbox_events (sent_at) WHERE sent_at IS NOT NULL;
