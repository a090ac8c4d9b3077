package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// ResolveLogin finds the account a log-in names: tenant code plus username
// or e-mail address. Unknown tenant and unknown login are the same
// NotFound, so the caller cannot tell them apart either.
func (a *App) ResolveLogin(ctx context.Context, tenantCode, login string) (*account.Tenant, *account.Account, error) {
	var v errs.Violations
	if tenantCode == "" {
		v.Add("tenantCode", account.ReasonRequired, "required")
	}
	if login == "" {
		v.Add("login", account.ReasonRequired, "required")
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	notFound := errs.NotFound("LOGIN_NOT_FOUND", "no such account")
	t, err := a.store.GetTenantByCode(ctx, tenantCode)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	acct, err := a.store.FindAccountByLogin(ctx, t.ID, login)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	acct, err = a.releaseExpiredLock(ctx, acct)
	return t, acct, err
}
