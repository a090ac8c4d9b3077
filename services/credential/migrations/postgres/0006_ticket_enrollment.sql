-- The ENROLL_MFA log-in step has two answers: startTotpEnrollment, which
-- gives a new ticket for the same step marked as started, then the
-- authenticator app's first code, which only a started ticket takes.
ALTER TABLE login_tickets ADD COLUMN enrollment_started BOOLEAN NOT NULL DEFAULT FALSE;
