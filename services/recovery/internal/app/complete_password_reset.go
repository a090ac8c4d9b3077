package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	recoveryevents "github.com/latchkey/latchkey/services/recovery/internal/events"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// CompletePasswordReset sets the new password of a reset, proven by the
// link token alone (only when the reset needs nothing else) or by a reset
// ticket of VerifyPasswordReset. The token (and the ticket) are used up
// atomically, so of concurrent completions exactly one wins; a password
// the policy refuses leaves them usable. A PENDING account is activated.
// A failed-attempts lock ends (not an administrator's or the inactivity
// lock); the second factor is left as it is. It returns the tenant's code.
func (a *App) CompletePasswordReset(ctx context.Context, token, ticket, newPassword string) (string, error) {
	if token == "" && ticket == "" {
		return "", errs.Invalid(errs.Field("token", "REQUIRED", "the link token or a reset ticket is required"))
	}
	if err := checkNewPassword(newPassword); err != nil {
		return "", err
	}
	var (
		acct         *Account
		tenantCode   string
		verifiedWith []string
		restore      func(store.Tx) error
	)
	if ticket == "" {
		t, err := a.usableLink(ctx, token, recovery.Reset)
		if err != nil {
			return "", err
		}
		c, err := a.resetCaseOf(ctx, t)
		if err != nil {
			return "", err
		}
		if len(c.requires) > 0 {
			return "", errs.FailedPrecondition(recovery.ReasonVerificationRequired,
				"this reset needs more than the link: verify it first (password-reset:verify)")
		}
		err = a.Store.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.ConsumeLinkToken(ctx, t.Hash, recovery.Reset, a.Clock.Now())
			if errs.Is(err, errs.KindNotFound) {
				return recovery.ErrLinkTokenInvalid()
			}
			return err
		})
		if err != nil {
			return "", err
		}
		acct, tenantCode = c.acct, c.tenant.Code
		restore = func(tx store.Tx) error { return tx.RestoreLinkToken(ctx, t.Hash) }
	} else {
		if !recovery.WellFormed(ticket) {
			return "", recovery.ErrTicketInvalid()
		}
		var k *recovery.Ticket
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			now := a.Clock.Now()
			var err error
			if k, err = tx.ConsumeTicket(ctx, recovery.HashOf(ticket), now); err != nil {
				if errs.Is(err, errs.KindNotFound) {
					return recovery.ErrTicketInvalid()
				}
				return err
			}
			// The ticket is as good as its link: both are used up together.
			if _, err := tx.ConsumeLinkToken(ctx, k.TokenHash, recovery.Reset, now); err != nil {
				if errs.Is(err, errs.KindNotFound) {
					return recovery.ErrTicketInvalid()
				}
				return err
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		restore = func(tx store.Tx) error {
			if err := tx.RestoreLinkToken(ctx, k.TokenHash); err != nil {
				return err
			}
			return tx.RestoreTicket(ctx, k.Hash)
		}
		verifiedWith = k.VerifiedWith
		if acct, err = a.Accounts.Lookup(ctx, k.TenantID, k.AccountID); err == nil {
			var t *Tenant
			if t, err = a.Accounts.Tenant(ctx, k.TenantID); err == nil {
				tenantCode = t.Code
			}
		}
		if err != nil {
			_ = a.Store.InTx(ctx, restore)
			return "", err
		}
	}
	if acct.Status == StatusDisabled {
		return "", recovery.ErrLinkTokenInvalid()
	}
	if err := a.setPassword(ctx, acct, newPassword, restore); err != nil {
		return "", err
	}
	if acct.Status == StatusLocked {
		if err := a.Accounts.ReleaseLockout(ctx, acct.TenantID, acct.ID); err != nil {
			a.log.WarnContext(ctx, "recovery: lockout not released after a reset", "account", acct.ID, "error", err)
		}
	}
	err := a.afterLink(ctx, acct.TenantID, acct.ID, func(tx store.Tx) error {
		return tx.Emit(ctx, recoveryevents.PasswordResetCompleted(acct.TenantID, acct.ID, verifiedWith, a.Clock.Now()))
	})
	if err != nil {
		return "", err
	}
	return tenantCode, nil
}
