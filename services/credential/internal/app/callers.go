package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// This file holds who may call: the signed-in account, the administrator's
// tenant, and the ids callers send. The rules are libs/authn's and
// libs/ids', shared by every service.

// signedIn returns the account of a signed-in caller.
func (a *App) signedIn(ctx context.Context, p *authn.Principal) (*credential.Subject, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	return a.Accounts.Lookup(ctx, p.TenantID, p.AccountID)
}

// adminTenant is the tenant an administrator acts in, by the rule of
// authn.AdminTenant: their own, or the one an operator names.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (string, error) {
	scope, err := authn.AdminTenant(p)
	if err != nil || scope.TenantCode == "" {
		return scope.TenantID, err
	}
	return a.Accounts.TenantID(ctx, scope.TenantCode)
}

// checkID is the shared id check, ids.Check.
func checkID(field, id string) error { return ids.Check(field, id) }
