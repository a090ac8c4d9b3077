package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// Wrong passwords count up to the tenant's limit, each with its
// LoginFailed event; the right one clears the count; the failure that
// reaches the limit locks the account, and then even the right password
// gets the wrong password's answer.
func TestLogin_CountsFailuresLocksAtTheLimit(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 3, LockoutMinutes: 15})
	wrong := func() {
		t.Helper()
		_, err := w.login("anna", "wrong")
		wantReason(t, err, "INVALID_CREDENTIALS")
	}
	failedCounts := func() []int32 {
		var out []int32
		for _, c := range w.store.eventsOf("login_failed") {
			out = append(out, c.event.Message.(*eventsv1.LoginFailed).GetFailedCount())
		}
		return out
	}
	wrong()
	wrong()
	if got := failedCounts(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("LoginFailed counts = %v, want [1 2]", got)
	}
	w.mustTokens(w.login("anna", "Correct-Horse-1"))
	if st, err := w.app.GetPasswordStatus(context.Background(), s.TenantID, s.AccountID); err != nil || st.FailedCount != 0 {
		t.Fatalf("count after the right password: %+v %v, want 0", st, err)
	}
	wrong()
	wrong()
	if w.dir.lockouts != 0 {
		t.Fatal("locked before the limit")
	}
	wrong()
	if w.dir.lockouts != 1 || w.dir.subject(s.AccountID).Status != credential.StatusLocked {
		t.Fatalf("lockouts = %d, status %s; want the third failure in a row to lock", w.dir.lockouts, w.dir.subject(s.AccountID).Status)
	}
	if got := failedCounts(); len(got) != 5 || got[4] != 3 {
		t.Fatalf("LoginFailed counts = %v, want [1 2 1 2 3]", got)
	}
	wrong() // locked: not checked, nothing more to count, no second lock
	if got := failedCounts(); len(got) != 6 || got[5] != 3 || w.dir.lockouts != 1 {
		t.Fatalf("after the lock: counts %v, lockouts %d; want one more event at 3, one lock", got, w.dir.lockouts)
	}
	// Even the right password gets the wrong password's answer.
	_, err := w.login("anna", "Correct-Horse-1")
	wantReason(t, err, "INVALID_CREDENTIALS")
}

// The steps come in the order API.md gives (MFA, ACCEPT_TERMS,
// CHANGE_PASSWORD), each answer spending its ticket and giving the next.
func TestLogin_StepsInOrder_TermsThenNewPasswordThenTokens(t *testing.T) {
	for _, mfa := range []bool{false, true} {
		name := map[bool]string{false: "without TOTP", true: "with TOTP"}[mfa]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			s := w.account("anna", "Temporary-Pass-1", true, credential.Policy{TermsRequired: true, TermsVersion: "v2", SecurityQuestions: true})
			w.mfa.enrolled, w.mfa.good = map[string]bool{s.AccountID: mfa}, "123456"
			ticket := ""
			if mfa {
				ticket = w.mustStep(w.login("anna", "Temporary-Pass-1"))(credential.StepMFA)
				ticket = w.mustStep(w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"}))(credential.StepAcceptTerms)
			} else {
				ticket = w.mustStep(w.login("anna", "Temporary-Pass-1"))(credential.StepAcceptTerms)
			}
			ticket = w.mustStep(w.cont(app.ContinueRequest{Ticket: ticket, AcceptTermsVersion: "v2"}))(credential.StepChangePassword)
			r, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Brand-New-Pass-2"})
			w.mustTokens(r, err)
			if len(r.Prompts) != 1 || r.Prompts[0] != credential.PromptSetRecoveryInfo {
				t.Fatalf("prompts = %v, want SET_RECOVERY_INFO", r.Prompts)
			}
			if got := w.dir.subject(s.AccountID).AcceptedTermsVersion; got != "v2" {
				t.Fatalf("accepted terms = %q", got)
			}
			amr := w.store.eventsOf("login_succeeded")[0].event.Message.(*eventsv1.LoginSucceeded).GetAmr()
			if want := map[bool]int{false: 1, true: 2}[mfa]; len(amr) != want {
				t.Fatalf("amr = %v", amr)
			}
			// The new password is the one now; only the code is asked.
			if r, err := w.login("anna", "Brand-New-Pass-2"); mfa {
				w.mustStep(r, err)(credential.StepMFA)
			} else {
				w.mustTokens(r, err)
			}
		})
	}
}

// A temporary password works for the tenant's temporaryPasswordDays and
// then no more; a password the user chose has no such limit.
func TestLogin_TemporaryPasswordExpires(t *testing.T) {
	w := newWorld(t)
	policy := credential.Policy{TemporaryDays: 3}
	w.account("temp", "Temporary-Pass-1", true, policy)
	w.account("own", "Own-Choice-Pass-1", false, policy)
	w.clock.Advance(3*24*time.Hour - time.Second)
	w.mustStep(w.login("temp", "Temporary-Pass-1"))(credential.StepChangePassword)
	w.clock.Advance(time.Second)
	_, err := w.login("temp", "Temporary-Pass-1")
	wantReason(t, err, "TEMPORARY_PASSWORD_EXPIRED")
	w.mustTokens(w.login("own", "Own-Choice-Pass-1"))
	_, err = w.login("temp", "wrong")
	wantReason(t, err, "INVALID_CREDENTIALS") // the expiry is said only after the right password
}

// A right password clears the failure count also when the log-in stops
// after it (here the temporary password has expired), not only with the
// session it starts: the owner's own right passwords never add up to a
// lock.
func TestLogin_RightPasswordClearsTheCountWhenTheLogInStopsAfterIt(t *testing.T) {
	w := newWorld(t)
	w.account("temp", "Temporary-Pass-1", true, credential.Policy{TemporaryDays: 3, MaxFailedAttempts: 3, LockoutMinutes: 15})
	w.clock.Advance(3 * 24 * time.Hour)
	for range 3 {
		for range 2 {
			_, err := w.login("temp", "wrong")
			wantReason(t, err, "INVALID_CREDENTIALS")
		}
		_, err := w.login("temp", "Temporary-Pass-1")
		wantReason(t, err, "TEMPORARY_PASSWORD_EXPIRED") // not ACCOUNT_LOCKED
	}
}

// A log-in whose COMMIT the database's loss left unknown, at any of its
// transactions, answers Unavailable (try again), never an internal error;
// and the next try logs in.
func TestLogin_CommitLostWithTheDatabaseIsUnavailable(t *testing.T) {
	for lost := int64(1); lost <= 2; lost++ { // count the attempt; clear it with the session
		t.Run(fmt.Sprintf("transaction %d", lost), func(t *testing.T) {
			w := newWorld(t)
			w.account("ann", "Correct-Horse-7", false, credential.Policy{MaxFailedAttempts: 5})
			w.store.reset()
			w.store.loseReply = func(n int64) bool { return n == lost }
			if _, err := w.login("ann", "Correct-Horse-7"); !errs.Is(err, errs.KindUnavailable) {
				t.Fatalf("log-in with its commit lost: %v, want Unavailable", err)
			}
			w.store.loseReply = nil
			w.mustTokens(w.login("ann", "Correct-Horse-7"))
		})
	}
}
