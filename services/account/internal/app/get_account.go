package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
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
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return a.store.GetAccount(ctx, t.ID, id)
}

// GetTenant returns the caller's own tenant with its policy.
func (a *App) GetTenant(ctx context.Context, p *authn.Principal) (*account.Tenant, error) {
	return a.adminTenant(ctx, p)
}

func checkID(field, id string) error {
	switch {
	case id == "":
		return errs.Invalid(errs.Field(field, account.ReasonRequired, "an id is required"))
	case !ids.Valid(id):
		return errs.Invalid(errs.Field(field, account.ReasonInvalidFormat, "not an id Latchkey gave out"))
	}
	return nil
}
