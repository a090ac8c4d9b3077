package app

import (
	"context"
	"time"
)

// noteTimeout bounds how long a user's committed change waits for the
// account service to take note of it.
const noteTimeout = 2 * time.Second

// noteSecurityChange tells the account service that what GetPasswordStatus
// reports of the account (the password's change time, expiry and
// temporariness, whether a PIN is set) has changed. It is called after the
// change committed and before the caller is answered, so the user's next
// GET /v1/me, which keeps this service's answer checked against the
// account's security stamp, sees the change.
//
// A failure does not fail the change: it is committed, and refusing it now
// would only make the caller try again what already happened. It is logged
// and the account service's kept answer stays stale only until its short
// expiry. The call outlives the caller's cancellation (a client that went
// away after the commit still leaves a noted change), within noteTimeout.
func (a *App) noteSecurityChange(ctx context.Context, tenantID, accountID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	if err := a.Accounts.NoteSecurityChange(ctx, tenantID, accountID); err != nil {
		a.Logger.WarnContext(ctx, "account service did not take note of a password or PIN change; GET /v1/me may show the old state until its kept answer expires",
			"tenant_id", tenantID, "account_id", accountID, "err", err)
	}
}
