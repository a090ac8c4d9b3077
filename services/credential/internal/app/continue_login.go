package app

import (
	"context"
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
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
	// StartTOTPEnrollment starts the enrolment of the ENROLL_MFA step; its
	// answer is the same step with the app's key, and the app's first code
	// (TOTPCode) then confirms it.
	StartTOTPEnrollment bool
	Client              Client
}

func errTicketInvalid() error {
	return errs.Unauthenticated("LOGIN_TICKET_INVALID", "the log-in ticket is unknown, used or expired: log in again")
}

// wrongCode counts a wrong code given with the ticket hash: on the ticket,
// whose third one ends it, and as a failed log-in of the account, whose
// tenant limit locks it; both and the LoginFailed event in one transaction.
func (a *App) wrongCode(ctx context.Context, subj *credential.Subject, hash [32]byte, c Client) error {
	noteRefusal(ctx, "WRONG_CODE")
	var count int
	var reserved bool
	var now time.Time
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		now = a.Clock.Now()
		if _, err := tx.FailTicketCode(ctx, hash, now); err != nil {
			return err
		}
		var err error
		count, reserved, err = a.reserveAttempt(ctx, tx, subj)
		if err != nil || !reserved {
			return err // already at the limit: nothing more to count
		}
		return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, count, "WRONG_CODE", c.IP, c.UserAgent, now))
	})
	if errs.Is(err, errs.KindNotFound) {
		return errTicketInvalid() // ended meanwhile by parallel wrong codes, or expired
	}
	if err != nil {
		return err
	}
	if reserved {
		if err := a.lockAtLimit(ctx, subj, count, now); err != nil {
			return err
		}
	}
	return errs.Unauthenticated("MFA_CODE_INVALID", "the code is wrong or was already used")
}

// ContinueLogin takes the answer to a log-in step. The ticket is spent by
// an accepted answer only: an answer refused for its content (a missing
// field, a new password the policy refuses, a terms version that is not
// the current one) leaves it usable until it expires, so the user fixes
// the answer instead of logging in again. A wrong code counts as a failed
// log-in of the account, and the third one ends the ticket.
//
// The ticket is read first and spent in the transaction that writes the
// answer's change (a new password) and the next ticket or the session:
// of parallel accepted answers with one ticket exactly one wins, and the
// others change nothing.
func (a *App) ContinueLogin(ctx context.Context, req ContinueRequest) (res *LoginResult, err error) {
	ctx, counted := a.Metrics.startLogin(ctx, loginContinued)
	defer func() { counted(res, err) }()
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
	if inactiveReason(subj) != "" {
		// Locked or disabled since the ticket was given: the log-in is
		// over, and a new one answers as for a wrong password; the lock
		// is not told here either.
		return nil, errTicketInvalid()
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	var change *passwordChange
	var pw *credential.Password
	var recoveryCodes []string
	done = slices.Clone(done)
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
			return nil, a.wrongCode(ctx, subj, hash, req.Client)
		}
		k.AMR = append(k.AMR, "otp")
	case credential.StepEnrollMFA:
		if req.StartTOTPEnrollment {
			return a.startEnrollment(ctx, subj, req.Ticket, hash)
		}
		if req.TOTPCode == "" {
			return nil, errs.Invalid(errs.Field("startTotpEnrollment", "REQUIRED",
				"this step enrols an authenticator app: start with startTotpEnrollment, then give the app's first code as totpCode"))
		}
		if !k.EnrollmentStarted {
			return nil, credential.ErrEnrollmentNotStarted()
		}
		codes, ok, err := a.Factors.FinishEnrollment(ctx, subj.TenantID, subj.AccountID, req.TOTPCode)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, a.wrongCode(ctx, subj, hash, req.Client)
		}
		recoveryCodes = codes
		k.AMR = append(k.AMR, "otp")
		// The first code of the new factor is the code of this log-in:
		// the MFA step, now due since TOTP is on, is done too.
		done = append(done, credential.StepMFA)
	default:
		return nil, errs.Unimplemented("the " + string(k.Step) + " log-in step is not known to this server")
	}
	if pw == nil {
		if pw, err = a.Store.GetPassword(ctx, subj.TenantID, subj.AccountID); err != nil {
			return nil, err
		}
	}
	done = append(done, k.Step)
	facts, err := a.facts(ctx, subj, pw)
	if err != nil {
		return nil, err
	}
	var next *nextOrSession
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if _, _, err := tx.UseTicket(ctx, hash, now); err != nil {
			return err
		}
		if change != nil {
			if err := a.applyPassword(ctx, tx, change, now); err != nil {
				return err
			}
		}
		var err error
		next, err = a.conclude(ctx, tx, now, subj, k, done, facts)
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil, errTicketInvalid() // spent meanwhile by a parallel answer, or expired
	}
	if err != nil {
		return nil, err
	}
	if change != nil {
		a.noteSecurityChange(ctx, subj.TenantID, subj.AccountID)
	}
	res, err = a.result(ctx, subj, next, facts)
	if err != nil {
		return nil, err
	}
	res.RecoveryCodes = recoveryCodes
	return res, nil
}

// startEnrollment answers startTotpEnrollment at the ENROLL_MFA step: mfa
// starts a TOTP factor, and the same ticket, marked as started (its
// expiry and wrong codes kept), waits for the app's first code. Starting
// again replaces the key, as mfa does.
func (a *App) startEnrollment(ctx context.Context, subj *credential.Subject, ticket string, hash [32]byte) (*LoginResult, error) {
	enr, err := a.Factors.StartEnrollment(ctx, subj.TenantID, subj.AccountID)
	if err != nil {
		return nil, err
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.StartTicketEnrollment(ctx, hash, a.Clock.Now())
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil, errTicketInvalid() // spent or ended meanwhile, or expired
	}
	if err != nil {
		return nil, err
	}
	return &LoginResult{NextStep: credential.StepEnrollMFA, Ticket: ticket, Enrollment: enr}, nil
}
