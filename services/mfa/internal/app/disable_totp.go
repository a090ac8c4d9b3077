package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/mfa/internal/events"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// DisableTotp removes the signed-in caller's TOTP factor and recovery
// codes (MfaDisabled when the factor was on). It needs a recent
// authentication, and is refused when the tenant requires two-step
// verification.
func (a *App) DisableTotp(ctx context.Context, p *authn.Principal) error {
	if err := authn.RequireRecentAuth(p, a.clock.Now(), authn.ReauthMaxAge); err != nil {
		return err
	}
	f, err := a.factor(ctx, p.TenantID, p.AccountID)
	if err != nil {
		return err
	}
	if f == nil {
		return errs.FailedPrecondition(ReasonTOTPNotEnabled, "two-step verification is not on")
	}
	if f.Confirmed() {
		t, err := a.dir.Tenant(ctx, p.TenantID)
		if err != nil {
			return err
		}
		if t.MFARequired {
			return errs.FailedPrecondition(ReasonMFARequired,
				"your organisation requires two-step verification, so it cannot be turned off; an administrator can reset it if you lost your authenticator")
		}
	}
	now := a.clock.Now()
	var gone *factor.Factor
	err = a.store.InTx(ctx, func(tx store.Tx) (err error) {
		if gone, err = tx.DeleteFactor(ctx, p.TenantID, p.AccountID); err != nil {
			return err
		}
		if _, err := tx.DeleteRecoveryCodes(ctx, p.TenantID, p.AccountID); err != nil {
			return err
		}
		if gone == nil || !gone.Confirmed() {
			return nil
		}
		return tx.Emit(ctx, events.MfaDisabled(p.TenantID, p.AccountID, events.Actor(p), now))
	})
	if err != nil {
		return err
	}
	if gone != nil {
		a.noteSecurityChange(ctx, p.TenantID, p.AccountID)
	}
	return nil
}
