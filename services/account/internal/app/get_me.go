package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
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
	// PASSWORD_EXPIRES_SOON.
	Prompts []string
	// Password is what the credential service says about the password;
	// nil where no credential service runs.
	Password *account.PasswordSummary
}

// GetMe returns the signed-in user's account, tenant, pending steps and
// password summary. The two-step verification and recovery parts belong
// to services not built yet and are left out.
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
	me.PendingSteps = account.PendingSteps(t, acct, me.Password)
	if pw := me.Password; pw != nil && pw.ExpiresSoon {
		me.Prompts = append(me.Prompts, "PASSWORD_EXPIRES_SOON")
	}
	return me, nil
}
