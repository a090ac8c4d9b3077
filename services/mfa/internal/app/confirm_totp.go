package app

import (
	"context"
	"errors"
	"strings"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/events"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// ConfirmTotp confirms the signed-in caller's enrolment with a first code
// from the app: the factor is on, MfaEnabled is published, and the ten
// recovery codes returned are shown once. Wrong codes are bounded per
// enrolment (factor.MaxConfirmFailures); then it must be started again.
func (a *App) ConfirmTotp(ctx context.Context, p *authn.Principal, code string) ([]string, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	return a.confirmEnrollment(ctx, p.TenantID, p.AccountID, code, events.Actor(p))
}

// FinishTotpEnrollment is ConfirmTotp for the log-in's ENROLL_MFA step.
func (a *App) FinishTotpEnrollment(ctx context.Context, tenantID, accountID, code string) ([]string, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.confirmEnrollment(ctx, tenantID, accountID, code, events.User(accountID))
}

var errCodeRefused = errors.New("code refused")

func (a *App) confirmEnrollment(ctx context.Context, tenantID, accountID, code string, actor *eventsv1.Actor) ([]string, error) {
	if strings.TrimSpace(code) == "" {
		return nil, errCodeRequired()
	}
	f, err := a.factor(ctx, tenantID, accountID)
	switch {
	case err != nil:
		return nil, err
	case f == nil:
		return nil, errs.FailedPrecondition(ReasonNoEnrollment, "no authenticator enrolment is waiting: start one first")
	case f.Confirmed():
		return nil, errTOTPAlreadyEnabled
	case f.FailedCodes >= factor.MaxConfirmFailures:
		return nil, errEnrollmentEnded()
	}
	t, err := a.dir.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	secret, err := a.secret(f)
	if err != nil {
		a.log.ErrorContext(ctx, errFactorUnreadable.Error(), "factor_id", f.ID, "err", err)
		return nil, errFactorUnreadable
	}
	now := a.clock.Now()
	step, ok := factor.Match(secret, code, now, skew(t))
	if !ok {
		return nil, a.wrongConfirmationCode(ctx, f)
	}
	shown, rows, err := a.recoveryCodeSet(ctx, tenantID, accountID, now)
	if err != nil {
		return nil, err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		accepted, err := tx.AcceptStep(ctx, f.ID, step, now, factor.MaxConfirmFailures)
		if err != nil {
			return err
		}
		if !accepted {
			return errCodeRefused
		}
		if activated, err := tx.Activate(ctx, f.ID, now); err != nil {
			return err
		} else if !activated {
			return errTOTPAlreadyEnabled
		}
		if err := tx.ReplaceRecoveryCodes(ctx, tenantID, accountID, rows); err != nil {
			return err
		}
		if err := a.reseal(ctx, tx, f, secret); err != nil {
			return err
		}
		return tx.Emit(ctx, events.MfaEnabled(tenantID, accountID, actor, now))
	})
	if errors.Is(err, errCodeRefused) {
		// Used already (a replay, or a parallel confirmation won), or the
		// enrolment was replaced or ended meanwhile.
		return nil, errCodeInvalid()
	}
	if err != nil {
		return nil, err
	}
	a.noteSecurityChange(ctx, tenantID, accountID)
	return shown, nil
}

// wrongConfirmationCode counts a wrong code against enrolment f and says
// so; the last one allowed ends the enrolment.
func (a *App) wrongConfirmationCode(ctx context.Context, f *factor.Factor) error {
	var n int
	err := a.store.InTx(ctx, func(tx store.Tx) (err error) {
		n, err = tx.CountFailedCode(ctx, f.ID)
		return err
	})
	if err != nil {
		return err
	}
	// A key e-mailed on request stops being pending when its wrong codes
	// reach the bound. Noting every counted one (n > 0: f was still
	// unconfirmed) keeps this from depending on where the bound lies, and
	// costs at most MaxConfirmFailures hops per key.
	if f.State == factor.Emailed && n > 0 {
		a.noteSecurityChange(ctx, f.TenantID, f.AccountID)
	}
	if n >= factor.MaxConfirmFailures {
		return errEnrollmentEnded()
	}
	return errCodeInvalid()
}

func errCodeInvalid() error {
	return errs.Invalid(errs.Field("code", ReasonCodeInvalid,
		"that code is not right: enter the code your authenticator app shows now"))
}

func errEnrollmentEnded() error {
	return errs.FailedPrecondition(ReasonEnrollmentEnded,
		"too many wrong codes for this enrolment: start the enrolment again and scan the new QR code")
}
