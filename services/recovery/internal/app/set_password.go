package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// maxPasswordLen bounds a new password before it travels further (the
// credential service applies the policy).
const maxPasswordLen = 1024

func checkNewPassword(pw string) error {
	switch {
	case pw == "":
		return errs.Invalid(errs.Field("newPassword", "REQUIRED", "the new password is required"))
	case len(pw) > maxPasswordLen:
		return errs.Invalid(errs.Field("newPassword", "TOO_LONG", "the new password is at most 1024 bytes"))
	}
	return nil
}

// setPassword sets the password a completed link chose, through the
// credential service: the first password of a PENDING account, which then
// becomes ACTIVE, or a new password after a reset (policy, history,
// sessions revoked). restore, called when the credential service refused
// the password or could not be reached, makes the spent token or ticket
// usable again: a refused password must not cost the user their link.
func (a *App) setPassword(ctx context.Context, acct *Account, pw string, restore func(store.Tx) error) error {
	var err error
	if acct.Status == StatusPending {
		err = a.Credentials.SetInitialPassword(ctx, acct.TenantID, acct.ID, pw)
	} else {
		err = a.Credentials.SetPasswordAfterReset(ctx, acct.TenantID, acct.ID, pw)
	}
	if err != nil {
		switch errs.KindOf(err) {
		case errs.KindInvalid, errs.KindFailedPrecondition, errs.KindUnavailable:
			if rerr := a.Store.InTx(ctx, restore); rerr != nil {
				a.log.ErrorContext(ctx, "recovery: link not restored after a refused password", "account", acct.ID, "error", rerr)
			}
		}
		return err
	}
	if acct.Status == StatusPending {
		// The password is set: the account must become ACTIVE. The call is
		// idempotent; a failure here leaves a PENDING account with a
		// password, which a new reset link activates.
		var merr error
		for range 3 {
			if merr = a.Accounts.MarkActivated(ctx, acct.TenantID, acct.ID); merr == nil {
				break
			}
		}
		if merr != nil {
			return merr
		}
	}
	return nil
}

// afterLink records what a completed link proved: the e-mail address is
// the account's, and every other link of it is void now.
func (a *App) afterLink(ctx context.Context, tenantID, accountID string, extra func(store.Tx) error) error {
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := tx.MarkEmailVerified(ctx, tenantID, accountID, now); err != nil {
			return err
		}
		// Noted after every proof (only a first one changes the status,
		// but a link is used rarely and no read is needed to tell).
		a.noteSecurityChange(ctx, tx, tenantID, accountID)
		if _, err := tx.VoidLinkTokens(ctx, tenantID, accountID, "", now, now); err != nil {
			return err
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
}
