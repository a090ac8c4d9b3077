package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// LockAccount locks an account of the caller's tenant until an
// administrator unlocks it, and ends its sessions. An administrator cannot
// lock themself.
func (a *App) LockAccount(ctx context.Context, p *authn.Principal, id, reason string) (*account.Account, error) {
	locked := false
	_, acct, err := a.adminChange(ctx, p, id, reason, func(_ store.Tx, _ *account.Tenant, acct *account.Account) ([]store.Event, error) {
		if err := refuseSelf(p, acct.ID, "CANNOT_LOCK_SELF", "administrators cannot lock their own account"); err != nil {
			return nil, err
		}
		changed, err := acct.LockByAdmin()
		if locked = changed && err == nil; !locked {
			return nil, err
		}
		return []store.Event{accountevents.AccountLocked(acct, events.ActorOf(p, reason))}, nil
	})
	if err != nil {
		return nil, err
	}
	if locked {
		a.opts.Metrics.locked(account.LockAdmin, 1)
	}
	a.revokeSessions(ctx, acct, "ACCOUNT_LOCKED")
	return acct, nil
}
