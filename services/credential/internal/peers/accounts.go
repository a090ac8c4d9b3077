// Package peers holds the credential service's clients of the other
// services, one file each: account (who exists, in which state, under
// which policy), mfa and recovery. Each turns the peer's API into the
// credential domain.
package peers

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ttlcache"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// Accounts is the account service.
type Accounts struct {
	c       accountinternalv1.AccountInternalServiceClient
	tenants *ttlcache.Cache[string, *accountv1.Tenant]
}

// tenantTTL is how long a tenant's policy is reused without asking again:
// short, so a policy change applies within seconds, yet a burst of
// log-ins does not ask the account service once per request.
const tenantTTL = 5 * time.Second

// NewAccounts returns the account service's client.
func NewAccounts(c accountinternalv1.AccountInternalServiceClient) *Accounts {
	return &Accounts{c: c, tenants: ttlcache.New[string, *accountv1.Tenant](tenantTTL, 10000)}
}

// tenant returns a tenant with its policy, cached for tenantTTL.
func (a *Accounts) tenant(ctx context.Context, tenantID string) (*accountv1.Tenant, error) {
	if t, ok := a.tenants.Get(tenantID); ok {
		return t, nil
	}
	resp, err := a.c.GetTenantPolicy(ctx, &accountinternalv1.GetTenantPolicyRequest{TenantId: tenantID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	a.tenants.Put(tenantID, resp.GetTenant())
	return resp.GetTenant(), nil
}

// ResolveLogin finds the account a log-in names.
func (a *Accounts) ResolveLogin(ctx context.Context, tenantCode, login string) (*credential.Subject, error) {
	resp, err := a.c.ResolveLogin(ctx, &accountinternalv1.ResolveLoginRequest{TenantCode: tenantCode, Login: login})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return subject(resp.GetAccount(), resp.GetTenant()), nil
}

// Lookup returns an account with its tenant's policy.
func (a *Accounts) Lookup(ctx context.Context, tenantID, accountID string) (*credential.Subject, error) {
	resp, err := a.c.LookupAccount(ctx, &accountinternalv1.LookupAccountRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	t, err := a.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return subject(resp.GetAccount(), t), nil
}

// TenantID returns the id of the tenant with code.
func (a *Accounts) TenantID(ctx context.Context, code string) (string, error) {
	resp, err := a.c.GetTenantByCode(ctx, &accountinternalv1.GetTenantByCodeRequest{Code: code})
	if err != nil {
		return "", errs.FromStatus(err)
	}
	return resp.GetTenant().GetId(), nil
}

// Policy returns a tenant's policy.
func (a *Accounts) Policy(ctx context.Context, tenantID string) (credential.Policy, error) {
	t, err := a.tenant(ctx, tenantID)
	if err != nil {
		return credential.Policy{}, err
	}
	return policy(t), nil
}

// RecordLockout locks an account after failed log-ins.
func (a *Accounts) RecordLockout(ctx context.Context, tenantID, accountID string, until *time.Time) error {
	req := &accountinternalv1.RecordLockoutRequest{TenantId: tenantID, AccountId: accountID, Reason: accountv1.LockReason_FAILED_ATTEMPTS}
	if until != nil {
		req.UnlockTime = timestamppb.New(*until)
	}
	_, err := a.c.RecordLockout(ctx, req)
	return errs.FromStatus(err)
}

// RecordTermsAcceptance records the acceptance of a terms version.
func (a *Accounts) RecordTermsAcceptance(ctx context.Context, tenantID, accountID, version string) error {
	_, err := a.c.RecordTermsAcceptance(ctx, &accountinternalv1.RecordTermsAcceptanceRequest{TenantId: tenantID, AccountId: accountID, Version: version})
	return errs.FromStatus(err)
}

// NoteSecurityChange tells the account service that the account's
// password or PIN changed.
func (a *Accounts) NoteSecurityChange(ctx context.Context, tenantID, accountID string) error {
	_, err := a.c.NoteSecurityChange(ctx, &accountinternalv1.NoteSecurityChangeRequest{TenantId: tenantID, AccountId: accountID})
	return errs.FromStatus(err)
}

func subject(a *accountv1.Account, t *accountv1.Tenant) *credential.Subject {
	s := &credential.Subject{
		TenantID: a.GetTenantId(), TenantCode: t.GetCode(), AccountID: a.GetId(), Username: a.GetUsername(),
		Email: a.GetEmail(), DisplayName: a.GetDisplayName(), Status: a.GetStatus().String(),
		AcceptedTermsVersion: a.GetAcceptedTermsVersion(), Policy: policy(t),
	}
	for _, r := range a.GetRoles() {
		s.Roles = append(s.Roles, r.String())
	}
	return s
}

func policy(t *accountv1.Tenant) credential.Policy {
	p := t.GetPolicy()
	pw := p.GetPassword()
	return credential.Policy{
		Rules: password.Rules{
			MinLength: int(pw.GetMinLength()), MinUppercase: int(pw.GetMinUppercase()), MinLowercase: int(pw.GetMinLowercase()),
			MinDigits: int(pw.GetMinDigits()), MinSymbols: int(pw.GetMinSymbols()), CheckBreached: pw.GetCheckBreached(),
		},
		HistoryCount:      int(pw.GetHistoryCount()),
		MaxAgeDays:        int(pw.GetMaxAgeDays()),
		ExpiryWarningDays: int(pw.GetExpiryWarningDays()),
		TemporaryDays:     int(pw.GetTemporaryPasswordDays()),
		MaxFailedAttempts: int(p.GetLockout().GetMaxFailedAttempts()),
		LockoutMinutes:    int(p.GetLockout().GetLockoutMinutes()),
		TermsRequired:     p.GetTermsRequired(),
		TermsVersion:      t.GetTermsVersion(),
		MFARequired:       p.GetMfa().GetRequired(),
		SecurityQuestions: p.GetRecovery().GetSecurityQuestions(),
		PINEnabled:        p.GetPin().GetEnabled(),
		PINLength:         int(p.GetPin().GetLength()),
		// Unset bounds (an account service older than the session policy)
		// take the defaults: see credential.SessionPolicy.WithDefaults.
		Session: credential.SessionPolicy{
			MaxLifetime: time.Duration(p.GetSession().GetMaxLifetimeHours()) * time.Hour,
			Idle:        time.Duration(p.GetSession().GetIdleHours()) * time.Hour,
		},
	}
}

// ImportAccounts has the account service create (or, with validateOnly,
// check) the accounts of an import, all or none, once per key.
func (a *Accounts) ImportAccounts(ctx context.Context, tenantID string, rows []credential.ImportRow, validateOnly bool, key credential.ImportKey) ([]credential.ImportOutcome, bool, error) {
	req := &accountinternalv1.CreateImportedAccountsRequest{TenantId: tenantID, ValidateOnly: validateOnly}
	if key.Request.Has() {
		req.IdempotencyKey = &accountinternalv1.ImportIdempotencyKey{Key: key.Request.Key,
			Fingerprint: key.Request.Fingerprint, Caller: key.Caller}
	}
	for _, r := range rows {
		row := &accountinternalv1.ImportedAccountRow{AccountId: r.AccountID, Username: r.Username, Email: r.Email, DisplayName: r.DisplayName,
			Pending: r.LegacyPasswordHash == ""}
		for _, role := range r.Roles {
			row.Roles = append(row.Roles, accountv1.Role_Value(accountv1.Role_Value_value[role]))
		}
		req.Rows = append(req.Rows, row)
	}
	resp, err := a.c.CreateImportedAccounts(ctx, req)
	if err != nil {
		return nil, false, errs.FromStatus(err)
	}
	out := make([]credential.ImportOutcome, len(rows))
	for _, r := range resp.GetResults() {
		if i := int(r.GetIndex()); i >= 0 && i < len(out) {
			out[i] = credential.ImportOutcome{ErrorCode: r.GetErrorCode(), ErrorMessage: r.GetErrorMessage(), AccountID: r.GetAccount().GetId()}
		}
	}
	return out, resp.GetCreated(), nil
}
