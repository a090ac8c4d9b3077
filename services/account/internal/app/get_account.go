package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// GetAccount returns an account of the caller's tenant. An account of
// another tenant is NotFound, exactly like one that does not exist, so an
// admin cannot learn what other tenants hold.
func (a *App) GetAccount(ctx context.Context, p *authn.Principal, id string) (*account.Account, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := ids.Check("id", id); err != nil {
		return nil, err
	}
	return a.store.GetAccount(ctx, t.ID, id)
}
