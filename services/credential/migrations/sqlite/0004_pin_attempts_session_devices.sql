-- A session remembers the device whose PIN key it came with (a password
-- log-in that handed one out, or a PIN log-in with one), so ending the
-- session ends the key and the sessions list can say which have one. A
-- wrong current PIN given to change the PIN is counted on the PIN itself,
-- atomically, like a wrong PIN at log-in is counted on its device.
ALTER TABLE sessions ADD COLUMN device_id TEXT;
ALTER TABLE pins ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
