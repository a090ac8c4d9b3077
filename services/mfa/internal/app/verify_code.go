package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/mfa/internal/events"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// Method is what a verified code was.
type Method string

// The methods of a verified code.
const (
	MethodTOTP         Method = "TOTP"
	MethodRecoveryCode Method = "RECOVERY_CODE"
)

// maxCodeLen bounds what is worth looking at: a recovery code typed with
// spaces and dashes is far shorter.
const maxCodeLen = 64

// VerifyCode checks a code of the account for another service (a log-in,
// a re-authentication, a password reset): a TOTP code of its confirmed
// factor, within the tenant's skew and later than the last accepted step
// (so a code is accepted once), or, when allowRecovery, an unused
// recovery code, which is then used up. The first correct code of a key
// e-mailed on request confirms that factor (MfaEnabled). It reports ""
// for a wrong code; failures are not counted here (the caller counts them
// as failed log-ins through the credential service).
func (a *App) VerifyCode(ctx context.Context, tenantID, accountID, code string, allowRecovery bool) (Method, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return "", err
	}
	if len(code) > maxCodeLen {
		return "", nil
	}
	if factor.LooksLikeTOTP(factor.NormalizeCode(code)) {
		return a.verifyTOTP(ctx, tenantID, accountID, code)
	}
	if normalized, lookup, ok := factor.ParseRecoveryCode(code); ok && allowRecovery {
		return a.verifyRecoveryCode(ctx, tenantID, accountID, normalized, lookup)
	}
	return "", nil
}

func (a *App) verifyTOTP(ctx context.Context, tenantID, accountID, code string) (Method, error) {
	f, err := a.factor(ctx, tenantID, accountID)
	if err != nil || f == nil || f.State == factor.Enrolling {
		return "", err
	}
	t, err := a.dir.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	secret, err := a.secret(f)
	if err != nil {
		a.log.ErrorContext(ctx, errFactorUnreadable.Error(), "factor_id", f.ID, "err", err)
		return "", errFactorUnreadable
	}
	now := a.clock.Now()
	step, ok := factor.Match(secret, code, now, skew(t))
	if !ok {
		return "", nil
	}
	accepted, activated := false, false
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if accepted, err = tx.AcceptStep(ctx, f.ID, step, now, factor.MaxConfirmFailures); err != nil || !accepted {
			return err
		}
		if f.State == factor.Emailed {
			if activated, err = tx.Activate(ctx, f.ID, now); err != nil {
				return err
			}
			if activated {
				if err := tx.Emit(ctx, events.MfaEnabled(tenantID, accountID, events.User(accountID), now)); err != nil {
					return err
				}
			}
		}
		return a.reseal(ctx, tx, f, secret)
	})
	if err != nil || !accepted {
		return "", err
	}
	// Only the first code of an e-mailed key changes the status; an
	// ordinary code at a log-in does not, and costs no hop.
	if activated {
		a.noteSecurityChange(ctx, tenantID, accountID)
	}
	return MethodTOTP, nil
}

func (a *App) verifyRecoveryCode(ctx context.Context, tenantID, accountID, normalized, lookup string) (Method, error) {
	rc, err := a.store.RecoveryCodeByLookup(ctx, tenantID, accountID, lookup)
	if errs.Is(err, errs.KindNotFound) {
		// As long as a code that exists but is wrong.
		return "", a.hasher.DummyVerify(ctx, normalized)
	}
	if err != nil {
		return "", err
	}
	ok, _, err := a.hasher.Verify(ctx, rc.Hash, normalized)
	if err != nil || !ok {
		return "", err
	}
	spent := false
	err = a.store.InTx(ctx, func(tx store.Tx) (err error) {
		spent, err = tx.SpendRecoveryCode(ctx, rc.ID, a.clock.Now())
		return err
	})
	if err != nil || !spent {
		return "", err
	}
	return MethodRecoveryCode, nil
}
