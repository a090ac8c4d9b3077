package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ReactivateAccount brings back a disabled or locked account of the
// caller's tenant, with a fresh start for the inactivity lock and a fresh
// failed log-in count. A disabled account comes back with
// AccountReactivated; a locked one with AccountUnlocked (the event that
// ends a lock, whoever ends it).
func (a *App) ReactivateAccount(ctx context.Context, p *authn.Principal, id, reason string) (*account.Account, error) {
	_, acct, err := a.adminChange(ctx, p, id, reason, func(_ store.Tx, _ *account.Tenant, acct *account.Account) ([]store.Event, error) {
		wasDisabled := acct.Status == account.StatusDisabled
		was, changed, err := acct.Reactivate(acct.UpdatedAt)
		if err != nil || !changed {
			return nil, err
		}
		actor := events.ActorOf(p, reason)
		if wasDisabled {
			return []store.Event{accountevents.AccountReactivated(acct, actor)}, nil
		}
		return []store.Event{accountevents.AccountUnlocked(acct, was, actor)}, nil
	})
	if err != nil {
		return nil, err
	}
	if acct.Status != account.StatusActive {
		return acct, nil
	}
	return acct, a.clearFailedAttempts(ctx, acct)
}
