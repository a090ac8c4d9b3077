package app

import (
	"cmp"
	"context"
	"sync"

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
//
// The peers' answers are kept (securityCache) while the account's
// security stamp and the tenant stay as they were: the user who just
// enrolled TOTP, set recovery information or changed the password sees
// it at once, because the service that made the change moved the stamp
// on (NoteSecurityChange) before answering. Otherwise the peers are asked
// at the same time instead of one after another; the tenant comes from
// a.tenants.
func (a *App) GetMe(ctx context.Context, p *authn.Principal) (*Me, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	t, err := a.tenants.get(ctx, p.TenantID, a.store.GetTenant)
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
	if kept, ok := a.security.get(acct, t); ok {
		me.Password, me.Security = kept.password, kept.security
	} else {
		if me.Password, me.Security, err = a.peerStatus(ctx, acct); err != nil {
			return nil, err
		}
		a.security.put(acct, t, me.Password, me.Security)
	}
	me.PendingSteps = account.PendingSteps(t, acct, me.Password, me.Security)
	me.Prompts = account.Prompts(t, me.Password, me.Security)
	return me, nil
}

// peerStatus asks the credential, mfa and recovery services about acct,
// all three at once. The errors are reported in that order whichever
// comes first, so a failing peer always gives the same answer.
func (a *App) peerStatus(ctx context.Context, acct *account.Account) (*account.PasswordSummary, account.Security, error) {
	var sec account.Security
	if a.opts.Factors == nil || a.opts.Recovery == nil {
		return nil, sec, errs.Unavailable("SECURITY_STATUS_UNAVAILABLE", "the two-step verification and recovery status cannot be read here", nil)
	}
	var (
		wg                    sync.WaitGroup
		pw                    *account.PasswordSummary
		pwErr, mfaErr, recErr error
	)
	if a.credentials != nil {
		wg.Go(func() { pw, pwErr = a.credentials.PasswordSummary(ctx, acct.TenantID, acct.ID) })
	}
	wg.Go(func() {
		sec.TOTPEnabled, sec.EmailedKeyPending, mfaErr = a.opts.Factors.FactorStatus(ctx, acct.TenantID, acct.ID)
	})
	// The recovery answer is asked on this goroutine: one fewer to start.
	sec.RecoveryInfoSet, recErr = a.opts.Recovery.RecoveryInfoSet(ctx, acct.TenantID, acct.ID)
	wg.Wait()
	if err := cmp.Or(pwErr, mfaErr, recErr); err != nil {
		return nil, account.Security{}, err
	}
	return pw, sec, nil
}
