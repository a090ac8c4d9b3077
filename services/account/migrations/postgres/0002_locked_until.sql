-- When a lock after failed log-ins ends by itself.
ALTER TABLE accounts ADD COLUMN locked_until TIMESTAMPTZ;
