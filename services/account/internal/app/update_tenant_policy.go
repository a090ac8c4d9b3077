package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// UpdateTenantPolicy changes the policy of the caller's own tenant
// (administrators).
func (a *App) UpdateTenantPolicy(ctx context.Context, p *authn.Principal, change func(*account.Policy)) (*account.Tenant, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, err
	}
	return a.changeTenant(ctx, p, func(ctx context.Context, tx store.Tx) (*account.Tenant, error) {
		return tx.GetTenant(ctx, t.ID)
	}, nil, change)
}
