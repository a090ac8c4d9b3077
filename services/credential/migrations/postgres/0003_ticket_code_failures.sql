-- Wrong codes given with a log-in ticket: the third one ends the ticket
-- (API.md, login:continue), counted atomically so parallel guesses cannot
-- pass the limit.
ALTER TABLE login_tickets ADD COLUMN failed_codes INTEGER NOT NULL DEFAULT 0;
