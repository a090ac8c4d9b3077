package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// TenantByCode returns the tenant with code, with its policy.
func (a *App) TenantByCode(ctx context.Context, code string) (*account.Tenant, error) {
	if code == "" {
		return nil, errs.Invalid(errs.Field("code", account.ReasonRequired, "required"))
	}
	return a.store.GetTenantByCode(ctx, code)
}
