package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// RegenerateRecoveryCodes gives the signed-in caller a new set of ten
// recovery codes (shown once) and voids the old set. It needs a recent
// authentication and a confirmed factor.
func (a *App) RegenerateRecoveryCodes(ctx context.Context, p *authn.Principal) ([]string, error) {
	if err := authn.RequireRecentAuth(p, a.clock.Now(), authn.ReauthMaxAge); err != nil {
		return nil, err
	}
	if f, err := a.factor(ctx, p.TenantID, p.AccountID); err != nil {
		return nil, err
	} else if !f.Confirmed() {
		return nil, errTOTPNotEnabled()
	}
	now := a.clock.Now()
	shown, rows, err := a.recoveryCodeSet(ctx, p.TenantID, p.AccountID, now)
	if err != nil {
		return nil, err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		// The factor may have been turned off while the codes were hashed.
		f, err := tx.Factor(ctx, p.TenantID, p.AccountID)
		if errs.Is(err, errs.KindNotFound) || (err == nil && !f.Confirmed()) {
			return errTOTPNotEnabled()
		}
		if err != nil {
			return err
		}
		return tx.ReplaceRecoveryCodes(ctx, p.TenantID, p.AccountID, rows)
	})
	if err != nil {
		return nil, err
	}
	return shown, nil
}

func errTOTPNotEnabled() error {
	return errs.FailedPrecondition(ReasonTOTPNotEnabled, "two-step verification is not on: recovery codes come with a confirmed authenticator")
}
