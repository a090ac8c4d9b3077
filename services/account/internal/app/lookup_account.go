package app

import (
	"context"

	"github.com/latchkey/latchkey/services/account/internal/account"
)

// LookupAccount returns account id of tenant tenantID.
func (a *App) LookupAccount(ctx context.Context, tenantID, id string) (*account.Account, error) {
	if err := checkAccountRef(tenantID, id); err != nil {
		return nil, err
	}
	acct, err := a.store.GetAccount(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return a.releaseExpiredLock(ctx, acct)
}
