package app

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// ContinueRequest answers the step a ticket asks for.
type ContinueRequest struct {
	Ticket             string
	TOTPCode           string
	RecoveryCode       string
	NewPassword        string
	AcceptTermsVersion string
	Client             Client
}

func errTicketInvalid() error {
	return errs.Unauthenticated("LOGIN_TICKET_INVALID", "the log-in ticket is unknown, used or expired: log in again")
}

// ContinueLogin takes the answer to a log-in step. The ticket is spent by
// an accepted answer only: an answer refused for its content (a missing
// field, a new password the policy refuses, a terms version that is not
// the current one) leaves it usable until it expires, so the user fixes
// the answer instead of logging in again. A wrong code ends it.
//
// The ticket is read first and spent in the transaction that writes the
// answer's change (a new password) and the next ticket or the session:
// of parallel accepted answers with one ticket exactly one wins, and the
// others change nothing.
func (a *App) ContinueLogin(ctx context.Context, req ContinueRequest) (*LoginResult, error) {
	if req.Ticket == "" {
		return nil, errs.Invalid(errs.Field("loginTicket", "REQUIRED", "required"))
	}
	hash := token.HashSecret(req.Ticket)
	k, done, err := a.Store.PeekTicket(ctx, hash, a.Clock.Now())
	if errs.Is(err, errs.KindNotFound) {
		return nil, errTicketInvalid()
	}
	if err != nil {
		return nil, err
	}
	subj, err := a.Accounts.Lookup(ctx, k.TenantID, k.AccountID)
	if err != nil {
		return nil, err
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	var change *passwordChange
	var pw *credential.Password
	switch k.Step {
	case credential.StepAcceptTerms:
		if req.AcceptTermsVersion == "" {
			return nil, errs.Invalid(errs.Field("acceptTermsVersion", "REQUIRED", "this step accepts the terms: give their version"))
		}
		// The account service refuses a version that is not the current
		// one and takes the same one twice as once, so it is asked before
		// the ticket is spent.
		if err := a.Accounts.RecordTermsAcceptance(ctx, subj.TenantID, subj.AccountID, req.AcceptTermsVersion); err != nil {
			return nil, err
		}
		subj.AcceptedTermsVersion = req.AcceptTermsVersion
	case credential.StepChangePassword:
		if req.NewPassword == "" {
			return nil, errs.Invalid(errs.Field("newPassword", "REQUIRED", "this step sets a new password"))
		}
		if change, err = a.preparePassword(ctx, subj, req.NewPassword, "newPassword", false, eventsv1.PasswordChanged_Cause_LOGIN_STEP, ""); err != nil {
			return nil, err
		}
		// What the next steps see: the new password, neither temporary
		// nor old.
		pw = &credential.Password{TenantID: subj.TenantID, AccountID: subj.AccountID, Hash: change.hash, ChangedAt: a.Clock.Now()}
	case credential.StepMFA:
		code, recovery := req.TOTPCode, false
		if code == "" {
			code, recovery = req.RecoveryCode, true
		}
		if code == "" {
			return nil, errs.Invalid(errs.Field("totpCode", "REQUIRED", "this step needs the current code of the authenticator app, or a recovery code"))
		}
		ok, err := a.Factors.Verify(ctx, subj.TenantID, subj.AccountID, code, recovery)
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := a.Store.InTx(ctx, func(tx store.Tx) error {
				_, _, err := tx.UseTicket(ctx, hash, a.Clock.Now())
				return err
			}); err != nil && !errs.Is(err, errs.KindNotFound) {
				return nil, err
			}
			return nil, errs.Unauthenticated("MFA_CODE_INVALID", "the code is wrong or was already used: log in again")
		}
		k.AMR = append(k.AMR, "otp")
	default:
		return nil, errs.Unimplemented("the " + string(k.Step) + " log-in step needs the mfa service, which is not built yet")
	}
	if pw == nil {
		if pw, err = a.Store.GetPassword(ctx, subj.TenantID, subj.AccountID); err != nil {
			return nil, err
		}
	}
	done = append(slices.Clone(done), k.Step)
	facts, err := a.facts(ctx, subj, pw)
	if err != nil {
		return nil, err
	}
	var next *nextOrSession
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if _, _, err := tx.UseTicket(ctx, hash, a.Clock.Now()); err != nil {
			return err
		}
		if change != nil {
			if _, err := a.applyPassword(ctx, tx, change, a.Clock.Now()); err != nil {
				return err
			}
		}
		var err error
		next, err = a.conclude(ctx, tx, subj, k, done, facts)
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil, errTicketInvalid() // spent meanwhile by a parallel answer, or expired
	}
	if err != nil {
		return nil, err
	}
	return a.result(ctx, subj, next, facts)
}
