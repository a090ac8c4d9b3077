package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// UnlockAccount ends the lock of an account of the caller's tenant,
// whatever its reason, and restarts its failed log-in count; an
// inactivity lock ends with a fresh start.
func (a *App) UnlockAccount(ctx context.Context, p *authn.Principal, id, reason string) (*account.Account, error) {
	_, acct, err := a.adminChange(ctx, p, id, reason, func(_ store.Tx, _ *account.Tenant, acct *account.Account) ([]store.Event, error) {
		was, changed, err := acct.Unlock(acct.UpdatedAt)
		if err != nil || !changed {
			return nil, err
		}
		return []store.Event{accountevents.AccountUnlocked(acct, was, events.ActorOf(p, reason))}, nil
	})
	if err != nil {
		return nil, err
	}
	if acct.Status != account.StatusActive {
		return acct, nil
	}
	return acct, a.clearFailedAttempts(ctx, acct)
}
