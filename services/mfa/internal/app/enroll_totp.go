package app

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// EnrollTotp starts the signed-in caller's TOTP enrolment: a new secret,
// its otpauth:// URI and QR code. It needs a recent authentication and
// replaces an enrolment not yet confirmed; an account whose factor is
// confirmed must turn it off first.
func (a *App) EnrollTotp(ctx context.Context, p *authn.Principal) (*factor.Key, error) {
	if err := authn.RequireRecentAuth(p, a.clock.Now(), authn.ReauthMaxAge); err != nil {
		return nil, err
	}
	return a.startEnrollment(ctx, p.TenantID, p.AccountID)
}

// StartTotpEnrollment is EnrollTotp for the log-in's ENROLL_MFA step
// (credential calls it before the user has an access token).
func (a *App) StartTotpEnrollment(ctx context.Context, tenantID, accountID string) (*factor.Key, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.startEnrollment(ctx, tenantID, accountID)
}

func (a *App) startEnrollment(ctx context.Context, tenantID, accountID string) (*factor.Key, error) {
	if f, err := a.factor(ctx, tenantID, accountID); err != nil {
		return nil, err
	} else if f.Confirmed() {
		return nil, errTOTPAlreadyEnabled
	}
	t, err := a.dir.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	acct, err := a.dir.Account(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	secret := factor.NewSecret()
	key, err := factor.NewKey(secret, t.Issuer(), acct.Username)
	if err != nil {
		return nil, err
	}
	f := a.newFactor(tenantID, accountID, secret, factor.Enrolling, a.clock.Now())
	err = a.store.InTx(ctx, func(tx store.Tx) error { return tx.PutFactor(ctx, f) })
	if errors.Is(err, store.ErrConfirmedFactor) {
		return nil, errTOTPAlreadyEnabled
	}
	if err != nil {
		return nil, err
	}
	// The new enrolment replaced whatever unconfirmed factor the account
	// had, perhaps a pending e-mailed key (also one stored after the read
	// above), so the status may have changed.
	a.noteSecurityChange(ctx, tenantID, accountID)
	return key, nil
}

// errCodeRequired refuses an empty code.
func errCodeRequired() error {
	return errs.Invalid(errs.Field("code", "REQUIRED", "enter the six-digit code your authenticator app shows"))
}
