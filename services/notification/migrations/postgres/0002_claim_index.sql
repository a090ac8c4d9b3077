-- The worker's claim looks for deliveries waiting (QUEUED, RETRYING) and
-- for SENDING ones whose lease ran out. Without an index on status the
-- lease test scanned every delivery kept (30 days of SENT ones) at each
-- claim; with it a claim reads only the rows in those states.
CREATE INDEX deliveries_status ON deliveries (status, next_attempt_at);
