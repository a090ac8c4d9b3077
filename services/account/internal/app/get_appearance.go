package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Appearance is what a log-in page shows before anyone signs in.
type Appearance struct {
	// Code is the tenant code asked for, known or not.
	Code string
	// Policy is the tenant's policy, or the platform defaults for a code
	// that names no tenant. Only its presentation fields (brand, locale,
	// password rules, recovery options, PIN) are meant for the page.
	Policy account.Policy
}

// GetAppearance answers, without sign-in, how the log-in page of the tenant
// with this code looks and what it offers. A code that names no tenant
// answers the platform defaults with the code itself, in the same shape, so
// the answer tells no more than a log-in does: a tenant that keeps the
// defaults looks exactly like no tenant at all.
func (a *App) GetAppearance(ctx context.Context, code string) (*Appearance, error) {
	if code == "" {
		return nil, errs.Invalid(errs.Field("code", account.ReasonRequired, "the tenant code is required"))
	}
	out := &Appearance{Code: code, Policy: account.DefaultPolicy()}
	if !account.ValidTenantCode(code) {
		return out, nil // no tenant can have it: not worth a query
	}
	t, err := a.store.GetTenantByCode(ctx, code)
	switch {
	case errs.Is(err, errs.KindNotFound):
		return out, nil
	case err != nil:
		return nil, err
	}
	out.Policy = t.Policy
	return out, nil
}
