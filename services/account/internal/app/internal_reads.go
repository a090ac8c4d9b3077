package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// These reads serve the other services (credential, recovery, mfa,
// notification) over the internal API, which the edge never exposes.

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

// LookupAccount returns account id of tenant tenantID.
func (a *App) LookupAccount(ctx context.Context, tenantID, id string) (*account.Account, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", id)); err != nil {
		return nil, err
	}
	acct, err := a.store.GetAccount(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return a.releaseExpiredLock(ctx, acct)
}

// TenantByID returns the tenant with id, with its policy.
func (a *App) TenantByID(ctx context.Context, id string) (*account.Tenant, error) {
	if err := checkID("tenantId", id); err != nil {
		return nil, err
	}
	return a.store.GetTenant(ctx, id)
}

// TenantByCode returns the tenant with code, with its policy.
func (a *App) TenantByCode(ctx context.Context, code string) (*account.Tenant, error) {
	if code == "" {
		return nil, errs.Invalid(errs.Field("code", account.ReasonRequired, "required"))
	}
	return a.store.GetTenantByCode(ctx, code)
}
