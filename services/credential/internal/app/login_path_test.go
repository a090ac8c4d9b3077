package app_test

import (
	"testing"

	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// The password log-in's work in the database, counted: a straight path
// reads the password row once and runs two transactions (count the
// attempt and read the password; clear the count with the ticket or the
// session). Before the row was passed along, a log-in ran five
// transactions and read the row three times; before the count was
// cleared with the session, three.
func TestLogin_TwoTransactionsOneReadOfThePassword(t *testing.T) {
	for _, tc := range []struct {
		name      string
		temporary bool
		policy    credential.Policy
		want      credential.Step // "" for tokens
	}{
		{"plain policy, tokens", false, credential.Policy{MaxFailedAttempts: 5}, ""},
		{"temporary passwords expire, tokens", false, credential.Policy{MaxFailedAttempts: 5, TemporaryDays: 7, MaxAgeDays: 90}, ""},
		{"temporary password, a ticket", true, credential.Policy{MaxFailedAttempts: 5, TemporaryDays: 7}, credential.StepChangePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.account("anna", "Correct-Horse-1", tc.temporary, tc.policy)
			w.store.reset()
			r, err := w.login("anna", "Correct-Horse-1")
			if tc.want == "" {
				w.mustTokens(r, err)
			} else {
				w.mustStep(r, err)(tc.want)
			}
			if n := w.store.txs.Load(); n != 2 {
				t.Errorf("transactions = %d, want 2", n)
			}
			if n := w.store.passwordReads.Load(); n != 1 {
				t.Errorf("reads of the password row = %d, want 1", n)
			}
		})
	}
}
