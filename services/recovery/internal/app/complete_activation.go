package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// CompleteActivation sets the first password of a PENDING account with
// its activation link's token and makes it ACTIVE. The token is used up
// atomically (one of concurrent completions wins); a password the policy
// refuses leaves it usable. It returns the tenant's code and the username,
// for the log-in page.
func (a *App) CompleteActivation(ctx context.Context, token, newPassword string) (tenantCode, username string, err error) {
	if err := checkNewPassword(newPassword); err != nil {
		return "", "", err
	}
	t, err := a.usableLink(ctx, token, recovery.Activation)
	if err != nil {
		return "", "", err
	}
	acct, err := a.Accounts.Lookup(ctx, t.TenantID, t.AccountID)
	if errs.Is(err, errs.KindNotFound) {
		return "", "", recovery.ErrLinkTokenInvalid()
	}
	if err != nil {
		return "", "", err
	}
	if acct.Status != StatusPending {
		// Activated some other way (a temporary password): the link has
		// nothing left to do, and must not replace a password.
		return "", "", recovery.ErrLinkTokenInvalid()
	}
	tenant, err := a.Accounts.Tenant(ctx, t.TenantID)
	if err != nil {
		return "", "", err
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.ConsumeLinkToken(ctx, t.Hash, recovery.Activation, a.Clock.Now())
		if errs.Is(err, errs.KindNotFound) {
			return recovery.ErrLinkTokenInvalid()
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	if err := a.setPassword(ctx, acct, newPassword, func(tx store.Tx) error { return tx.RestoreLinkToken(ctx, t.Hash) }); err != nil {
		return "", "", err
	}
	if err := a.afterLink(ctx, acct.TenantID, acct.ID, nil); err != nil {
		return "", "", err
	}
	return tenant.Code, acct.Username, nil
}
