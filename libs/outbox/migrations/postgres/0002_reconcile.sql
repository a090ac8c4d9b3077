-- For the reconciler: when a row was published, by the system's clock
-- (JetStream's duplicate window runs on it, whatever clock the service is
-- given), and when the reconciler republished it to check that JetStream
-- still had it (NULL: not yet).
ALTER TABLE outbox_events ADD COLUMN published_at TIMESTAMPTZ;
ALTER TABLE outbox_events ADD COLUMN reconciled_at TIMESTAMPTZ;
CREATE INDEX outbox_events_unreconciled ON outbox_events (published_at) WHERE published_at IS NOT NULL AND reconciled_at IS NULL;
