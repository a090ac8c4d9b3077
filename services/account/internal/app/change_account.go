package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// changeAccount loads an account in a transaction, lets change alter it
// and name the events, and saves it with them. A change that returns no
// events changed nothing, and nothing is written.
//
// The time of the change is taken inside the transaction, after the lock
// on the row, and change finds it in acct.UpdatedAt: every time it sets
// (an activation, a fresh start) and its events' time is that one, so the
// row and its events agree.
func (a *App) changeAccount(ctx context.Context, tenantID, accountID string, change func(store.Tx, *account.Account) ([]store.Event, error)) (*account.Account, error) {
	var out *account.Account
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		acct, err := tx.GetAccount(ctx, tenantID, accountID)
		if err != nil {
			return err
		}
		// The change's events carry the time of the change.
		was := acct.UpdatedAt
		acct.UpdatedAt = a.clock.Now()
		evs, err := change(tx, acct)
		if err != nil {
			return err
		}
		out = acct
		if len(evs) == 0 {
			acct.UpdatedAt = was
			return nil
		}
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			return err
		}
		for _, ev := range evs {
			if err := tx.Emit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// releaseExpiredLock turns an account whose timed lock has run out back to
// active, with its event, and returns it as it now is.
func (a *App) releaseExpiredLock(ctx context.Context, acct *account.Account) (*account.Account, error) {
	if !acct.LockExpired(a.clock.Now()) {
		return acct, nil
	}
	return a.changeAccount(ctx, acct.TenantID, acct.ID, func(tx store.Tx, cur *account.Account) ([]store.Event, error) {
		if !cur.LockExpired(cur.UpdatedAt) {
			return nil, nil
		}
		was := cur.LockReason
		cur.Status, cur.LockReason, cur.LockedUntil = account.StatusActive, account.LockNone, nil
		return []store.Event{accountevents.AccountUnlocked(cur, was, events.ActorOf(nil, "lock expired"))}, nil
	})
}
