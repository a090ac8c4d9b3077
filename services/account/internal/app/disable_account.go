package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// DisableAccount switches an account of the caller's tenant off until an
// administrator reactivates it, and ends its sessions. An administrator
// cannot disable themself.
func (a *App) DisableAccount(ctx context.Context, p *authn.Principal, id, reason string) (*account.Account, error) {
	_, acct, err := a.adminChange(ctx, p, id, reason, func(_ store.Tx, _ *account.Tenant, acct *account.Account) ([]store.Event, error) {
		if err := refuseSelf(p, acct.ID, "CANNOT_DISABLE_SELF", "administrators cannot disable their own account"); err != nil {
			return nil, err
		}
		if !acct.Disable() {
			return nil, nil
		}
		return []store.Event{accountevents.AccountDisabled(acct, events.ActorOf(p, reason))}, nil
	})
	if err != nil {
		return nil, err
	}
	a.revokeSessions(ctx, acct, "ACCOUNT_DISABLED")
	return acct, nil
}
