package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// CurrentTerms returns the current terms of the tenant with code; nil
// (and no error) when it has published none. No sign-in is needed: the
// log-in pages show them for the ACCEPT_TERMS step. An unknown code
// answers like a tenant without terms (API.md), so the call does not tell
// which tenant codes exist.
func (a *App) CurrentTerms(ctx context.Context, code string) (*account.Terms, error) {
	if code == "" {
		return nil, errs.Invalid(errs.Field("tenant", account.ReasonRequired, "the tenant code is required"))
	}
	t, err := a.store.GetTenantByCode(ctx, code)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if t.TermsVersion == "" {
		return nil, nil
	}
	return a.store.GetTerms(ctx, t.ID, t.TermsVersion)
}
