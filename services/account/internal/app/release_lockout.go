package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ReleaseLockout ends a lock after failed log-ins (the credential service
// asks when a lock it set is over by other means, e.g. a password reset
// where the tenant allows it). Locks for other reasons stay.
func (a *App) ReleaseLockout(ctx context.Context, tenantID, accountID string) (*account.Account, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.changeAccount(ctx, tenantID, accountID, func(_ store.Tx, acct *account.Account) ([]store.Event, error) {
		if acct.Status != account.StatusLocked || acct.LockReason != account.LockFailedAttempts {
			return nil, nil
		}
		was := acct.LockReason
		acct.Status, acct.LockReason, acct.LockedUntil = account.StatusActive, account.LockNone, nil
		return []store.Event{accountevents.AccountUnlocked(acct, was, events.ActorOf(nil, "lockout released"))}, nil
	})
}
