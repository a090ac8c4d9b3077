package app_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// TestMetrics_LoginsCountedByMethodAndOutcome: each log-in call is counted
// once, under what it answered or, when the answer is a wrong secret's
// whatever the cause, under the cause.
func TestMetrics_LoginsCountedByMethodAndOutcome(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	m, err := app.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	w.app.Metrics = m
	anna := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 5})
	w.mfa.enrolled, w.mfa.good = map[string]bool{anna.AccountID: true}, "123456"
	bob := w.account("bob", "Correct-Horse-2", false, credential.Policy{MaxFailedAttempts: 5})

	_, err = w.login("anna", "wrong")
	wantReason(t, err, "INVALID_CREDENTIALS")
	_, err = w.login("nobody", "wrong")
	wantReason(t, err, "INVALID_CREDENTIALS")
	ticket := w.mustStep(w.login("anna", "Correct-Horse-1"))(credential.StepMFA)
	_, err = w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "000000"})
	wantReason(t, err, "MFA_CODE_INVALID")
	w.mustTokens(w.cont(app.ContinueRequest{Ticket: ticket, TOTPCode: "123456"}))
	w.mustTokens(w.login("bob", "Correct-Horse-2"))
	w.dir.mu.Lock()
	w.dir.accounts[bob.AccountID].Status = credential.StatusLocked
	w.dir.mu.Unlock()
	_, err = w.login("bob", "Correct-Horse-2")
	wantReason(t, err, "INVALID_CREDENTIALS")
	if _, err = w.login("", "x"); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("log-in without a username: %v, want invalid", err)
	}

	want := `
# HELP latchkey_credential_logins_total Log-in calls by method (password, pin, continue: a step's answer) and outcome: success, <step>_required (mfa, enroll_mfa, change_password, accept_terms), or why it was refused, in lower case: wrong_password, wrong_code, wrong_pin, account_locked, account_disabled (the client is told only that the credentials are wrong), invalid_credentials (unknown company or user, or no password yet), another answer's reason (password_hasher_busy, login_ticket_invalid...), invalid_request (a malformed call) or error (an internal failure).
# TYPE latchkey_credential_logins_total counter
latchkey_credential_logins_total{method="continue",outcome="success"} 1
latchkey_credential_logins_total{method="continue",outcome="wrong_code"} 1
latchkey_credential_logins_total{method="password",outcome="account_locked"} 1
latchkey_credential_logins_total{method="password",outcome="invalid_credentials"} 1
latchkey_credential_logins_total{method="password",outcome="invalid_request"} 1
latchkey_credential_logins_total{method="password",outcome="mfa_required"} 1
latchkey_credential_logins_total{method="password",outcome="success"} 1
latchkey_credential_logins_total{method="password",outcome="wrong_password"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
