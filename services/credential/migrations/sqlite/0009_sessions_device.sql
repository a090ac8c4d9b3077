-- A log-in asks whether the account has had a session from this device
-- (its name and user agent) before, to mark a new device in its event
-- (DeviceSeen). Sessions are kept after they end, so with only
-- sessions_account that question read every earlier session of the
-- account from other devices: an account signed in from a browser
-- thousands of times made each log-in from its phone a little slower.
CREATE INDEX sessions_device ON sessions (tenant_id, account_id, device_name, user_agent);
