package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Me is the signed-in user's overview of their own account.
type Me struct {
	Account *account.Account
	Tenant  *account.Tenant
	// PendingSteps are log-in steps still due, in the log-in's order
	// (account.PendingSteps).
	PendingSteps []string
	// Prompts are reminders (credential.v1.Prompt names):
	// SET_RECOVERY_INFO, PASSWORD_EXPIRES_SOON.
	Prompts []string
	// Security is what the mfa and recovery services say.
	Security account.Security
	// Password is what the credential service says about the password;
	// nil where no credential service runs.
	Password *account.PasswordSummary
}

// GetMe returns the signed-in user's account, tenant, pending steps,
// prompts and security summary. It fails closed: an mfa or recovery
// service that cannot answer is an error, not "no factor" or "nothing
// set", which would show a wrong ENROLL_MFA or SET_RECOVERY_INFO.
func (a *App) GetMe(ctx context.Context, p *authn.Principal) (*Me, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	t, err := a.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	acct, err := a.store.GetAccount(ctx, p.TenantID, p.AccountID)
	if err != nil {
		return nil, err
	}
	if acct, err = a.releaseExpiredLock(ctx, acct); err != nil {
		return nil, err
	}
	me := &Me{Account: acct, Tenant: t}
	if a.credentials != nil {
		if me.Password, err = a.credentials.PasswordSummary(ctx, acct.TenantID, acct.ID); err != nil {
			return nil, err
		}
	}
	if me.Security, err = a.security(ctx, acct); err != nil {
		return nil, err
	}
	me.PendingSteps = account.PendingSteps(t, acct, me.Password, me.Security)
	me.Prompts = account.Prompts(t, me.Password, me.Security)
	return me, nil
}

// security asks the mfa and recovery services about acct.
func (a *App) security(ctx context.Context, acct *account.Account) (account.Security, error) {
	var sec account.Security
	if a.opts.Factors == nil || a.opts.Recovery == nil {
		return sec, errs.Unavailable("SECURITY_STATUS_UNAVAILABLE", "the two-step verification and recovery status cannot be read here", nil)
	}
	var err error
	if sec.TOTPEnabled, sec.EmailedKeyPending, err = a.opts.Factors.FactorStatus(ctx, acct.TenantID, acct.ID); err != nil {
		return sec, err
	}
	if sec.RecoveryInfoSet, err = a.opts.Recovery.RecoveryInfoSet(ctx, acct.TenantID, acct.ID); err != nil {
		return sec, err
	}
	return sec, nil
}
