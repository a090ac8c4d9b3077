// Package peers is the notification service's client of the account
// service: who a security notice goes to and how a tenant's e-mail looks.
package peers

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ttlcache"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
)

// Accounts asks the account service's internal API.
type Accounts struct {
	c       accountinternalv1.AccountInternalServiceClient
	tenants *ttlcache.Cache[string, *app.Tenant]
}

var _ app.Directory = (*Accounts)(nil)

// NewAccounts returns the client; tenant policies are cached for ttl (0:
// 30s), so a burst of e-mail asks once per tenant.
func NewAccounts(c accountinternalv1.AccountInternalServiceClient, ttl time.Duration) *Accounts {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	return &Accounts{c: c, tenants: ttlcache.New[string, *app.Tenant](ttl, 10000)}
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
	tn := resp.GetTenant()
	p := tn.GetPolicy()
	t := &app.Tenant{
		ID: tn.GetId(), Code: tn.GetCode(), Name: tn.GetName(),
		BrandName: p.GetBrandName(), FromAddress: p.GetFromAddress(), LinkBaseURL: p.GetLinkBaseUrl(), Locale: p.GetLocale(),
	}
	a.tenants.Put(tenantID, t)
	return t, nil
}

// Account implements app.Directory.
func (a *Accounts) Account(ctx context.Context, tenantID, accountID string) (*app.Account, error) {
	resp, err := a.c.LookupAccount(ctx, &accountinternalv1.LookupAccountRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	acct := resp.GetAccount()
	return &app.Account{ID: acct.GetId(), Email: acct.GetEmail(), DisplayName: acct.GetDisplayName(), Locale: acct.GetLocale()}, nil
}
