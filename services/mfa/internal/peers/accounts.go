// Package peers holds the mfa service's clients of the other services,
// one file each: account (who exists, tenant policy and branding) and
// notification (the key e-mail). Each turns the peer's API into the
// app's terms.
package peers

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ttlcache"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// Accounts asks the account service's internal API.
type Accounts struct {
	c       accountinternalv1.AccountInternalServiceClient
	tenants *ttlcache.Cache[string, *app.Tenant]
}

// tenantTTL is how long a tenant's policy is reused without asking again:
// short, so a policy change (skew, mfa.required) applies within seconds,
// yet a burst of codes does not ask once per code.
const tenantTTL = 5 * time.Second

var _ app.Directory = (*Accounts)(nil)

// NewAccounts returns the account service's client.
func NewAccounts(c accountinternalv1.AccountInternalServiceClient) *Accounts {
	return &Accounts{c: c, tenants: ttlcache.New[string, *app.Tenant](tenantTTL, 10000)}
}

// Tenant implements app.Directory.
func (a *Accounts) Tenant(ctx context.Context, tenantID string) (*app.Tenant, error) {
	if t, ok := a.tenants.Get(tenantID); ok {
		return t, nil
	}
	resp, err := a.c.GetTenantPolicy(ctx, &accountinternalv1.GetTenantPolicyRequest{TenantId: tenantID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	t := tenant(resp.GetTenant())
	a.tenants.Put(tenantID, t)
	return t, nil
}

// TenantByCode implements app.Directory.
func (a *Accounts) TenantByCode(ctx context.Context, code string) (*app.Tenant, error) {
	resp, err := a.c.GetTenantByCode(ctx, &accountinternalv1.GetTenantByCodeRequest{Code: code})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return tenant(resp.GetTenant()), nil
}

// Account implements app.Directory.
func (a *Accounts) Account(ctx context.Context, tenantID, accountID string) (*app.Account, error) {
	resp, err := a.c.LookupAccount(ctx, &accountinternalv1.LookupAccountRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return account(resp.GetAccount()), nil
}

// ResolveLogin implements app.Directory.
func (a *Accounts) ResolveLogin(ctx context.Context, tenantCode, login string) (*app.Account, *app.Tenant, error) {
	resp, err := a.c.ResolveLogin(ctx, &accountinternalv1.ResolveLoginRequest{TenantCode: tenantCode, Login: login})
	if err != nil {
		return nil, nil, errs.FromStatus(err)
	}
	return account(resp.GetAccount()), tenant(resp.GetTenant()), nil
}

// NoteSecurityChange implements app.Directory.
func (a *Accounts) NoteSecurityChange(ctx context.Context, tenantID, accountID string) error {
	_, err := a.c.NoteSecurityChange(ctx, &accountinternalv1.NoteSecurityChangeRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return errs.FromStatus(err)
	}
	return nil
}

func tenant(t *accountv1.Tenant) *app.Tenant {
	p := t.GetPolicy()
	skew := factor.DefaultSkewSteps
	if p.GetMfa() != nil && p.GetMfa().AllowedSkewSteps != nil {
		skew = int(p.GetMfa().GetAllowedSkewSteps())
	}
	return &app.Tenant{
		ID: t.GetId(), Code: t.GetCode(), Name: t.GetName(), BrandName: p.GetBrandName(),
		MFARequired: p.GetMfa().GetRequired(), SkewSteps: skew,
	}
}

func account(a *accountv1.Account) *app.Account {
	out := &app.Account{ID: a.GetId(), TenantID: a.GetTenantId(), Username: a.GetUsername(),
		Disabled: a.GetStatus() == accountv1.AccountStatus_DISABLED}
	for _, r := range a.GetRoles() {
		out.Roles = append(out.Roles, r.String())
	}
	return out
}
