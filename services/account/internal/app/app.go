// Package app holds the account service's use cases, one per file. Each
// checks who is calling, validates in the domain, and changes the store in
// one transaction together with its events.
package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// App runs the use cases.
type App struct {
	store store.Store
	clock clock.Clock
}

// New returns the use cases over s.
func New(s store.Store, clk clock.Clock) *App {
	return &App{store: s, clock: clk}
}

// requireOperator admits operator tokens (and, once log-in exists,
// accounts with the OPERATOR role).
func requireOperator(p *authn.Principal) error {
	switch {
	case p == nil:
		return errCredentialsMissing()
	case p.Kind == authn.KindOperatorToken:
		return nil
	default:
		return errs.PermissionDenied("OPERATOR_ONLY", "this call is for platform operators")
	}
}

// adminTenant returns the tenant an administrator call acts in: the
// caller's own tenant for an ADMIN account; for an operator token, the
// tenant it names in the Latchkey-Tenant header. Everything an admin call
// reads or changes is scoped to this tenant.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (*account.Tenant, error) {
	switch {
	case p == nil:
		return nil, errCredentialsMissing()
	case p.Kind == authn.KindOperatorToken:
		if p.TenantCode == "" {
			return nil, errs.Invalid(errs.Field(authn.TenantHeader, account.ReasonRequired,
				"an operator names the tenant to act in with the Latchkey-Tenant header"))
		}
		return a.store.GetTenantByCode(ctx, p.TenantCode)
	case p.Kind == authn.KindAccount && hasRole(p, account.RoleAdmin):
		return a.store.GetTenant(ctx, p.TenantID)
	default:
		return nil, errs.PermissionDenied("ADMIN_ONLY", "this call is for tenant administrators")
	}
}

func hasRole(p *authn.Principal, r account.Role) bool {
	for _, have := range p.Roles {
		if have == string(r) {
			return true
		}
	}
	return false
}

func errCredentialsMissing() error {
	return errs.Unauthenticated("CREDENTIALS_MISSING", "this call needs an access token or an operator token (Authorization: Bearer …)")
}
