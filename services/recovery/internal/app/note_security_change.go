package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// noteSecurityChange tells the account service, once tx has committed,
// that what GetRecoveryInfo reports of the account changed. GET /v1/me
// keeps the recovery service's answer and checks it against the account's
// security stamp, which this moves on; made after the commit and before
// the caller is answered (or the event acknowledged), it lets the user's
// next read show the change. It goes through tx.AfterCommit so that it
// works the same in the app's own transactions and in an inbox's, and is
// never made for a change that rolled back.
//
// A failed call only logs: the change is committed and must not be
// reported as failed, and the account service keeps its answers only
// briefly, so the read is stale for seconds at most.
func (a *App) noteSecurityChange(ctx context.Context, tx store.Tx, tenantID, accountID string) {
	tx.AfterCommit(func() {
		// The change is made: the note outlives the caller's
		// cancellation, within two seconds.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := a.Accounts.NoteSecurityChange(ctx, tenantID, accountID); err != nil {
			a.log.WarnContext(ctx, "recovery: security change not noted at the account service",
				"tenant", tenantID, "account", accountID, "error", err)
		}
	})
}
