-- Event ids each consumer has processed, written in the same transaction as
-- the handler's changes, so a redelivered event changes nothing twice.
CREATE TABLE inbox_processed (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed_at ON inbox_processed (processed_at);
