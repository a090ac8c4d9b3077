package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// RecordFailedAttempt counts a failure another service saw (wrong answers
// to security questions, a wrong code in a reset) like a failed log-in:
// the tenant's limit locks the account. It returns the count and whether
// the account is now locked. The count and its LoginFailed event are one
// transaction.
func (a *App) RecordFailedAttempt(ctx context.Context, tenantID, accountID, reason string) (int, bool, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return 0, false, err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return 0, false, err
	}
	if reason == "" {
		reason = "RECOVERY_CHECK_FAILED"
	}
	var count int
	var reserved bool
	var now time.Time
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		count, reserved, err = a.reserveAttempt(ctx, tx, subj)
		if err != nil || !reserved {
			return err // already at the limit: nothing more to count
		}
		now = a.Clock.Now()
		return tx.Emit(ctx, events.LoginFailed(tenantID, accountID, count, reason, "", "", now))
	})
	if err != nil {
		return 0, false, err
	}
	if !reserved {
		return count, true, nil
	}
	if err := a.lockAtLimit(ctx, subj, count, now); err != nil {
		return 0, false, err
	}
	return count, count >= subj.Policy.MaxFailedAttempts, nil
}
