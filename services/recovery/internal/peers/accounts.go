// Package peers holds the recovery service's clients of the other
// services, one file each: account (who exists, in which state, under which
// policy), credential (passwords, failed attempts) and mfa (second
// factors). Each turns the peer's API into the recovery app's terms.
package peers

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ttlcache"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
)

// Accounts is the account service.
type Accounts struct {
	c       accountinternalv1.AccountInternalServiceClient
	tenants *ttlcache.Cache[string, *app.Tenant]
}

// tenantTTL is how long a tenant's policy is reused without asking again:
// a policy change applies within seconds.
const tenantTTL = 5 * time.Second

var _ app.Directory = (*Accounts)(nil)

// NewAccounts returns the account service's client.
func NewAccounts(c accountinternalv1.AccountInternalServiceClient) *Accounts {
	return &Accounts{c: c, tenants: ttlcache.New[string, *app.Tenant](tenantTTL, 10000)}
}

// ResolveLogin implements app.Directory.
func (a *Accounts) ResolveLogin(ctx context.Context, tenantCode, login string) (*app.Account, error) {
	resp, err := a.c.ResolveLogin(ctx, &accountinternalv1.ResolveLoginRequest{TenantCode: tenantCode, Login: login})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	acct := account(resp.GetAccount())
	acct.TenantCode = resp.GetTenant().GetCode()
	return acct, nil
}

// Lookup implements app.Directory.
func (a *Accounts) Lookup(ctx context.Context, tenantID, accountID string) (*app.Account, error) {
	resp, err := a.c.LookupAccount(ctx, &accountinternalv1.LookupAccountRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return account(resp.GetAccount()), nil
}

// Tenant implements app.Directory, cached for tenantTTL.
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

// MarkActivated implements app.Directory.
func (a *Accounts) MarkActivated(ctx context.Context, tenantID, accountID string) error {
	_, err := a.c.MarkActivated(ctx, &accountinternalv1.MarkActivatedRequest{TenantId: tenantID, AccountId: accountID})
	return errs.FromStatus(err)
}

// ReleaseLockout implements app.Directory.
func (a *Accounts) ReleaseLockout(ctx context.Context, tenantID, accountID string) error {
	_, err := a.c.ReleaseLockout(ctx, &accountinternalv1.ReleaseLockoutRequest{TenantId: tenantID, AccountId: accountID})
	return errs.FromStatus(err)
}

// NoteSecurityChange implements app.Directory.
func (a *Accounts) NoteSecurityChange(ctx context.Context, tenantID, accountID string) error {
	_, err := a.c.NoteSecurityChange(ctx, &accountinternalv1.NoteSecurityChangeRequest{TenantId: tenantID, AccountId: accountID})
	return errs.FromStatus(err)
}

func account(a *accountv1.Account) *app.Account {
	out := &app.Account{ID: a.GetId(), TenantID: a.GetTenantId(), Username: a.GetUsername(), Status: a.GetStatus().String()}
	for _, r := range a.GetRoles() {
		out.Roles = append(out.Roles, r.String())
	}
	return out
}

func tenant(t *accountv1.Tenant) *app.Tenant {
	p := t.GetPolicy()
	pw := p.GetPassword()
	r := p.GetRecovery()
	return &app.Tenant{ID: t.GetId(), Code: t.GetCode(), Policy: app.Policy{
		EmailLink: r.GetEmailLink(), SecurityQuestions: r.GetSecurityQuestions(),
		QuestionsRequired: int(r.GetSecurityQuestionsRequired()), ResetRequiresMFA: r.GetResetRequiresMfa(),
		Rules: app.PasswordRules{
			MinLength: int(pw.GetMinLength()), MinUppercase: int(pw.GetMinUppercase()), MinLowercase: int(pw.GetMinLowercase()),
			MinDigits: int(pw.GetMinDigits()), MinSymbols: int(pw.GetMinSymbols()), HistoryCount: int(pw.GetHistoryCount()),
			CheckBreached: pw.GetCheckBreached(),
		},
	}}
}
