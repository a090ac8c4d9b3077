package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// GetTenant returns the tenant an administrator acts in (their own, or the
// one an operator names) with its policy.
func (a *App) GetTenant(ctx context.Context, p *authn.Principal) (*account.Tenant, error) {
	return a.adminTenant(ctx, p)
}
