package app_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/peers"
)

// mfaRequired is a tenant that requires two-step verification.
var mfaRequired = credential.Policy{MFARequired: true, MaxFailedAttempts: 10}

// The ENROLL_MFA step (API.md, login:continue): startTotpEnrollment gives
// the same step with the app's key; the app's first code then gives the
// tokens and the recovery codes, once, with "otp" among the methods.
func TestContinueLogin_EnrollMFA_StartThenFirstCodeGivesTokensAndRecoveryCodes(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		s := w.account("anna", "Correct-Horse-1", false, mfaRequired)
		w.mfa.good = "123456"
		ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepEnrollMFA)

		r, err := w.cont(app.ContinueRequest{Ticket: ticket, StartTOTPEnrollment: true})
		next := w.mustStep(r, err)(credential.StepEnrollMFA)
		if r.Enrollment == nil || r.Enrollment.Secret == "" || r.Enrollment.OtpauthURI == "" || len(r.Enrollment.QRPNG) == 0 {
			t.Fatalf("no enrolment in the answer: %+v", r)
		}
		if next != ticket {
			t.Fatalf("the start gave another ticket; the same one keeps its expiry and wrong codes")
		}
		if len(r.RecoveryCodes) != 0 {
			t.Fatalf("recovery codes before the enrolment was confirmed: %v", r.RecoveryCodes)
		}

		r, err = w.cont(app.ContinueRequest{Ticket: next, TOTPCode: "123456"})
		w.mustTokens(r, err)
		if len(r.RecoveryCodes) == 0 {
			t.Fatal("no recovery codes with the tokens")
		}
		if !w.mfa.finished[s.AccountID] {
			t.Fatal("mfa was not asked to confirm the enrolment")
		}
		ev := w.store.eventsOf("login_succeeded")
		if len(ev) != 1 {
			t.Fatalf("%d LoginSucceeded events, want 1", len(ev))
		}
		// Spent by the accepted answer.
		_, err = w.cont(app.ContinueRequest{Ticket: next, TOTPCode: "123456"})
		wantReason(t, err, "LOGIN_TICKET_INVALID")

		// The next log-in asks for the code, not for an enrolment.
		w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepMFA)
	})
}

// A code before startTotpEnrollment is refused naming startTotpEnrollment,
// and leaves the ticket usable; so does an answer with neither field.
func TestContinueLogin_EnrollMFA_CodeBeforeStartIsInvalid(t *testing.T) {
	w := newWorld(t)
	w.account("anna", "Correct-Horse-1", false, mfaRequired)
	w.mfa.good = "123456"
	ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepEnrollMFA)
	for _, req := range []app.ContinueRequest{{Ticket: ticket, TOTPCode: "123456"}, {Ticket: ticket}} {
		_, err := w.cont(req)
		var e *errs.Error
		if !errs.Is(err, errs.KindInvalid) || !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "startTotpEnrollment" {
			t.Fatalf("answer %+v: %v, want InvalidArgument naming startTotpEnrollment", req, err)
		}
	}
	if n := len(w.store.eventsOf("login_failed")); n != 0 {
		t.Fatalf("a code before the start was counted as a wrong code (%d events)", n)
	}
	r, err := w.cont(app.ContinueRequest{Ticket: ticket, StartTOTPEnrollment: true})
	w.mustStep(r, err)(credential.StepEnrollMFA)
	w.mustTokens(w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"}))
}

// A wrong first code is refused like a wrong MFA code: counted as a failed
// log-in, and the third ends the ticket; starting again does not reset
// the count.
func TestContinueLogin_EnrollMFA_WrongCodesCountAndTheThirdEndsTheTicket(t *testing.T) {
	w := newWorld(t)
	w.account("anna", "Correct-Horse-1", false, mfaRequired)
	w.mfa.good = "123456"
	ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepEnrollMFA)
	w.mustStep(w.cont(app.ContinueRequest{Ticket: ticket, StartTOTPEnrollment: true}))(credential.StepEnrollMFA)
	for i := 0; i < 2; i++ {
		_, err := w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "000000"})
		wantReason(t, err, "MFA_CODE_INVALID")
	}
	w.mustStep(w.cont(app.ContinueRequest{Ticket: ticket, StartTOTPEnrollment: true}))(credential.StepEnrollMFA)
	_, err := w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "000000"})
	wantReason(t, err, "MFA_CODE_INVALID")
	_, err = w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"})
	wantReason(t, err, "LOGIN_TICKET_INVALID")
	if n := len(w.store.eventsOf("login_failed")); n != 3 {
		t.Fatalf("%d LoginFailed events, want 3", n)
	}
}

// An authenticator key e-mailed on request (J4) waits for its first code:
// the log-in asks for that code (MFA), not for a new enrolment, and the
// code confirms it.
func TestLogin_EmailedKeyPendingAsksForTheCode(t *testing.T) {
	for _, required := range []bool{true, false} {
		w := newWorld(t)
		s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MFARequired: required})
		w.mfa.pending, w.mfa.good = map[string]bool{s.AccountID: true}, "123456"
		ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepMFA)
		w.mustTokens(w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"}))
		if w.mfa.started[s.AccountID] != 0 {
			t.Fatal("an enrolment was started for an account with a pending key")
		}
		w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepMFA)
	}
}

// An mfa or recovery service that cannot answer fails the log-in closed
// (Unavailable with its reason), never "no factor": no tokens, and no
// re-authentication without the code.
func TestLogin_FailsClosedWhenPeersCannotAnswer(t *testing.T) {
	unimplemented := errs.Unimplemented("not built")
	t.Run("mfa", func(t *testing.T) {
		w := newWorld(t)
		s := w.account("anna", "Correct-Horse-1", false, credential.Policy{})
		w.mfa.err = unavailable(peers.ReasonMFAUnavailable, unimplemented)
		_, err := w.login("anna", "Correct-Horse-1")
		wantUnavailable(t, err, peers.ReasonMFAUnavailable)

		w.mfa.err = nil
		tokens := w.mustTokens(w.login("anna", "Correct-Horse-1"))
		w.mfa.err = unavailable(peers.ReasonMFAUnavailable, unimplemented)
		me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
		_, _, err = w.app.Reauthenticate(context.Background(), me, "Correct-Horse-1", "", app.Client{})
		wantUnavailable(t, err, peers.ReasonMFAUnavailable)
	})
	t.Run("recovery", func(t *testing.T) {
		w := newWorld(t)
		w.account("anna", "Correct-Horse-1", false, credential.Policy{SecurityQuestions: true})
		w.rec.err = unavailable(peers.ReasonRecoveryUnavailable, unimplemented)
		_, err := w.login("anna", "Correct-Horse-1")
		wantUnavailable(t, err, peers.ReasonRecoveryUnavailable)
	})
}

// Re-authentication keeps asking for the code while TOTP is on.
func TestReauthenticate_AsksForTheCodeWhenTOTPIsOn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 10})
	tokens := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
	w.mfa.enrolled, w.mfa.good = map[string]bool{s.AccountID: true}, "123456"
	_, _, err := w.app.Reauthenticate(ctx, me, "Correct-Horse-1", "", app.Client{})
	if !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("no code: %v, want InvalidArgument (totpCode)", err)
	}
	_, _, err = w.app.Reauthenticate(ctx, me, "Correct-Horse-1", "000000", app.Client{})
	wantReason(t, err, "MFA_CODE_INVALID")
	if _, _, err := w.app.Reauthenticate(ctx, me, "Correct-Horse-1", "123456", app.Client{}); err != nil {
		t.Fatal(err)
	}
}

func unavailable(reason string, cause error) error {
	return errs.Unavailable(reason, "cannot answer", cause)
}

func wantUnavailable(t *testing.T, err error, reason string) {
	t.Helper()
	if !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("want Unavailable %s, got %v", reason, err)
	}
	wantReason(t, err, reason)
}

// The ticket stays single use at ENROLL_MFA: of 20 parallel first codes
// (all accepted by mfa here) exactly one gets the session.
func TestContinueLogin_EnrollMFA_ParallelFirstCodes_OneSession(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		w.account("anna", "Correct-Horse-1", false, mfaRequired)
		w.mfa.good = "123456"
		ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepEnrollMFA)
		w.mustStep(w.cont(app.ContinueRequest{Ticket: ticket, StartTOTPEnrollment: true}))(credential.StepEnrollMFA)
		w.store.reset()
		const n = 20
		var wg sync.WaitGroup
		var won atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"})
				switch {
				case err == nil && r.Tokens != nil:
					won.Add(1)
				case errs.KindOf(err) == errs.KindUnauthenticated:
				default:
					t.Errorf("parallel first code: %+v %v", r, err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 || len(w.store.eventsOf("login_succeeded")) != 1 {
			t.Fatalf("%d of %d parallel first codes won, %d sessions; want exactly 1", won.Load(), n, len(w.store.eventsOf("login_succeeded")))
		}
	})
}
