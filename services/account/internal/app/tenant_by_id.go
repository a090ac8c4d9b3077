package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// TenantByID returns the tenant with id, with its policy.
func (a *App) TenantByID(ctx context.Context, id string) (*account.Tenant, error) {
	if err := ids.Check("tenantId", id); err != nil {
		return nil, err
	}
	return a.store.GetTenant(ctx, id)
}
