package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/pagetoken"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ListTenants returns a page of tenants (operators only) and the token of
// the next page.
func (a *App) ListTenants(ctx context.Context, p *authn.Principal, filter string, pageSize int32, pageToken string) ([]*account.Tenant, string, error) {
	if err := authn.RequireOperator(p); err != nil {
		return nil, "", err
	}
	var v errs.Violations
	checkFilter(&v, filter)
	size, after, err := page(&v, pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	list, err := a.store.ListTenants(ctx, store.TenantQuery{Filter: filter, After: after, Limit: size + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > size {
		list = list[:size]
		next = pagetoken.Encode(list[size-1].ID)
	}
	return list, next, nil
}
