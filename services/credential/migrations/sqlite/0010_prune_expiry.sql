-- The hourly prune (Store.Prune) deletes refresh tokens and log-in tickets
-- that expired long ago: these indexes let it find them without reading
-- the live ones. Both columns only grow with time, so the entries of new
-- rows go to the end of the index.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE INDEX login_tickets_expiry ON login_tickets (expires_at);
