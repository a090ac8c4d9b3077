package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// RecordLockout locks an account for a reason another service decided
// (the credential service, after too many failed log-ins). until is when
// the lock ends by itself; nil keeps it until an admin unlocks. A disabled
// account stays disabled, and an account already locked keeps its lock.
func (a *App) RecordLockout(ctx context.Context, tenantID, accountID string, reason account.LockReason, until *time.Time) (*account.Account, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	if reason != account.LockFailedAttempts && reason != account.LockInactivity {
		return nil, errs.Invalid(errs.Field("reason", account.ReasonInvalidFormat, "FAILED_ATTEMPTS or INACTIVITY"))
	}
	locked := false
	acct, err := a.changeAccount(ctx, tenantID, accountID, func(tx store.Tx, acct *account.Account) ([]store.Event, error) {
		locked = false
		if acct.Status == account.StatusDisabled || (acct.Status == account.StatusLocked && !acct.LockExpired(acct.UpdatedAt)) {
			return nil, nil
		}
		acct.Status, acct.LockReason, acct.LockedUntil, locked = account.StatusLocked, reason, until, true
		return []store.Event{accountevents.AccountLocked(acct, events.ActorOf(nil, ""))}, nil
	})
	if err == nil && locked {
		a.opts.Metrics.locked(reason, 1)
	}
	return acct, err
}
