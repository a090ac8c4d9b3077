package account

import (
	"fmt"
	"testing"
)

func TestPendingSteps_InTheLogInsOrder(t *testing.T) {
	termsDue := &Tenant{Policy: Policy{TermsRequired: true}, TermsVersion: "v2"}
	noTerms := &Tenant{}
	acct := &Account{AcceptedTermsVersion: "v1"}
	for _, tc := range []struct {
		name string
		t    *Tenant
		pw   *PasswordSummary
		want string
	}{
		{"nothing due", noTerms, &PasswordSummary{}, "[]"},
		{"no word on the password", noTerms, nil, "[]"},
		{"terms only", termsDue, &PasswordSummary{ExpiresSoon: true}, "[ACCEPT_TERMS]"},
		{"temporary password only", noTerms, &PasswordSummary{Temporary: true}, "[CHANGE_PASSWORD]"},
		{"terms before the new password, as a log-in asks", termsDue, &PasswordSummary{Temporary: true}, "[ACCEPT_TERMS CHANGE_PASSWORD]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(PendingSteps(tc.t, acct, tc.pw)); got != tc.want {
				t.Fatalf("PendingSteps = %s, want %s", got, tc.want)
			}
		})
	}
}
