package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// An answer refused for its content leaves the ticket usable (API.md,
// login:continue): the user corrects the answer instead of typing the
// temporary password again. The accepted answer spends it.
func TestContinueLogin_RefusedAnswerLeavesTheTicket(t *testing.T) {
	policy := credential.Policy{TermsRequired: true, TermsVersion: "v2", HistoryCount: 3,
		Rules: password.Rules{MinLength: 12, MinDigits: 1}}
	for _, tc := range []struct {
		name    string
		step    credential.Step
		refused app.ContinueRequest
		reason  string
		good    app.ContinueRequest
	}{
		{"terms version missing", credential.StepAcceptTerms, app.ContinueRequest{}, "REQUIRED",
			app.ContinueRequest{AcceptTermsVersion: "v2"}},
		{"terms version not the current one", credential.StepAcceptTerms, app.ContinueRequest{AcceptTermsVersion: "v1"}, "TERMS_VERSION_NOT_CURRENT",
			app.ContinueRequest{AcceptTermsVersion: "v2"}},
		{"new password missing", credential.StepChangePassword, app.ContinueRequest{}, "REQUIRED",
			app.ContinueRequest{NewPassword: "Much-Better-Pass-1"}},
		{"new password the policy refuses", credential.StepChangePassword, app.ContinueRequest{NewPassword: "short"}, "",
			app.ContinueRequest{NewPassword: "Much-Better-Pass-1"}},
		{"new password that is the old one", credential.StepChangePassword, app.ContinueRequest{NewPassword: "Temporary-Pass-1"}, "PASSWORD_REUSED",
			app.ContinueRequest{NewPassword: "Much-Better-Pass-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			p := policy
			if tc.step == credential.StepChangePassword {
				p.TermsRequired = false
			}
			w.account("anna", "Temporary-Pass-1", tc.step == credential.StepChangePassword, p)
			ticket := w.mustStep(w.login("anna", "Temporary-Pass-1"))(tc.step)
			w.store.reset()
			for i := 0; i < 2; i++ { // twice: a refusal is not counted against the ticket
				req := tc.refused
				req.Ticket = ticket
				_, err := w.cont(req)
				if !errs.Is(err, errs.KindInvalid) {
					t.Fatalf("refused answer: %v, want InvalidArgument", err)
				}
				if tc.reason != "" {
					wantReason(t, err, tc.reason)
				}
			}
			if n := len(w.store.eventsOf("password_changed")); n != 0 {
				t.Fatalf("a refused answer changed the password (%d events)", n)
			}
			good := tc.good
			good.Ticket = ticket
			w.mustTokens(w.cont(good))
			_, err := w.cont(good)
			wantReason(t, err, "LOGIN_TICKET_INVALID")
		})
	}
}

// A temporary password is remembered like any other: someone else knew
// it, so the user may not come back to it within the history.
func TestTemporaryPassword_KeptInHistory(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Temporary-Pass-1", true, credential.Policy{HistoryCount: 3, Rules: password.Rules{MinLength: 12}})
	ticket := w.mustStep(w.login("anna", "Temporary-Pass-1"))(credential.StepChangePassword)
	tokens := w.mustTokens(w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Much-Better-Pass-1"}))
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
	err := w.app.ChangePassword(context.Background(), me, "Much-Better-Pass-1", "Temporary-Pass-1", app.Client{})
	wantReason(t, err, "PASSWORD_REUSED")
}

// A refused answer does not stretch the ticket's life: it still ends 5
// minutes after it was given.
func TestContinueLogin_TicketExpiresAfterFiveMinutes(t *testing.T) {
	w := newWorld(t)
	w.account("anna", "Temporary-Pass-1", true, credential.Policy{Rules: password.Rules{MinLength: 12}})
	ticket := w.mustStep(w.login("anna", "Temporary-Pass-1"))(credential.StepChangePassword)
	w.clock.Advance(credential.TicketTTL - time.Second)
	if _, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "short"}); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("refused answer: %v", err)
	}
	w.clock.Advance(time.Second)
	_, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Much-Better-Pass-1"})
	wantReason(t, err, "LOGIN_TICKET_INVALID")
}

// A wrong code counts as a failed log-in of the account, and the third
// one ends the ticket (API.md, login:continue); the tenant's limit locks
// the account, codes included.
func TestContinueLogin_WrongCodesCountAndTheThirdEndsTheTicket(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit      int
		wrong      int
		thenReason string // after the wrong codes, the good code gets this ("" = tokens)
		lockouts   int
	}{
		{"two wrong codes, then the right one", 10, 2, "", 0},
		{"three wrong codes end the ticket", 10, 3, "LOGIN_TICKET_INVALID", 0},
		// The lock voids the ticket without telling it (API.md).
		{"the tenant's limit locks the account", 2, 2, "LOGIN_TICKET_INVALID", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: tc.limit})
			w.mfa.enrolled, w.mfa.good = map[string]bool{s.AccountID: true}, "123456"
			ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepMFA)
			for i := 0; i < tc.wrong; i++ {
				_, err := w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "000000"})
				wantReason(t, err, "MFA_CODE_INVALID")
			}
			r, err := w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"})
			if tc.thenReason == "" {
				w.mustTokens(r, err)
			} else {
				wantReason(t, err, tc.thenReason)
			}
			failed := w.store.eventsOf("login_failed")
			if len(failed) != tc.wrong {
				t.Fatalf("%d LoginFailed events, want %d", len(failed), tc.wrong)
			}
			if ev := failed[len(failed)-1].event.Message.(*eventsv1.LoginFailed); ev.GetReason() != "WRONG_CODE" || int(ev.GetFailedCount()) != tc.wrong {
				t.Fatalf("last LoginFailed: %v", ev)
			}
			if w.dir.lockouts != tc.lockouts {
				t.Fatalf("lockouts = %d, want %d", w.dir.lockouts, tc.lockouts)
			}
		})
	}
}

// A ticket stays single use under concurrency: of 20 parallel accepted
// answers exactly one wins, and only its change is made.
func TestContinueLogin_ParallelAnswers_ExactlyOneWins(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		for _, step := range []credential.Step{credential.StepChangePassword, credential.StepAcceptTerms} {
			t.Run(string(step), func(t *testing.T) {
				w := newWorldOn(t, db)
				w.account(string(step), "Temporary-Pass-1", step == credential.StepChangePassword,
					credential.Policy{TermsRequired: step == credential.StepAcceptTerms, TermsVersion: "v2"})
				ticket := w.mustStep(w.login(string(step), "Temporary-Pass-1"))(step)
				w.store.reset()
				const n = 20
				var wg sync.WaitGroup
				results := make([]error, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req := app.ContinueRequest{Ticket: ticket, AcceptTermsVersion: "v2", NewPassword: "Parallel-Pass-" + string(rune('A'+i))}
						r, err := w.cont(req)
						if err == nil && r.Tokens == nil {
							t.Errorf("answer %d: no tokens: %+v", i, r)
						}
						results[i] = err
					}()
				}
				wg.Wait()
				won := 0
				for i, err := range results {
					switch {
					case err == nil:
						won++
					case errs.KindOf(err) == errs.KindUnauthenticated:
						wantReason(t, err, "LOGIN_TICKET_INVALID")
					default:
						t.Errorf("answer %d: %v", i, err)
					}
				}
				if won != 1 {
					t.Fatalf("%d of %d parallel answers won, want exactly 1", won, n)
				}
				if got := len(w.store.eventsOf("login_succeeded")); got != 1 {
					t.Fatalf("%d sessions made, want 1", got)
				}
				if want := map[credential.Step]int{credential.StepChangePassword: 1}[step]; len(w.store.eventsOf("password_changed")) != want {
					t.Fatalf("%d password changes, want %d", len(w.store.eventsOf("password_changed")), want)
				}
			})
		}
	})
}
