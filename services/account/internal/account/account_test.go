package account

import (
	"fmt"
	"testing"
)

func TestPendingSteps_InTheLogInsOrder(t *testing.T) {
	termsDue := &Tenant{Policy: Policy{TermsRequired: true}, TermsVersion: "v2"}
	noTerms := &Tenant{}
	mfaRequired := &Tenant{Policy: Policy{MFA: MFAPolicy{Required: true}}}
	allDue := &Tenant{Policy: Policy{TermsRequired: true, MFA: MFAPolicy{Required: true}}, TermsVersion: "v2"}
	acct := &Account{AcceptedTermsVersion: "v1"}
	for _, tc := range []struct {
		name string
		t    *Tenant
		pw   *PasswordSummary
		sec  Security
		want string
	}{
		{"nothing due", noTerms, &PasswordSummary{}, Security{}, "[]"},
		{"no word on the password", noTerms, nil, Security{}, "[]"},
		{"terms only", termsDue, &PasswordSummary{ExpiresSoon: true}, Security{}, "[ACCEPT_TERMS]"},
		{"temporary password only", noTerms, &PasswordSummary{Temporary: true}, Security{}, "[CHANGE_PASSWORD]"},
		{"terms before the new password, as a log-in asks", termsDue, &PasswordSummary{Temporary: true}, Security{}, "[ACCEPT_TERMS CHANGE_PASSWORD]"},
		{"MFA required, no factor", mfaRequired, &PasswordSummary{}, Security{}, "[ENROLL_MFA]"},
		{"MFA required, TOTP on", mfaRequired, &PasswordSummary{}, Security{TOTPEnabled: true}, "[]"},
		{"MFA required, e-mailed key pending: the log-in asks its code", mfaRequired, &PasswordSummary{}, Security{EmailedKeyPending: true}, "[]"},
		{"MFA not required, no factor", noTerms, &PasswordSummary{}, Security{}, "[]"},
		{"everything, in the log-in's order", allDue, &PasswordSummary{Temporary: true}, Security{}, "[ACCEPT_TERMS CHANGE_PASSWORD ENROLL_MFA]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(PendingSteps(tc.t, acct, tc.pw, tc.sec)); got != tc.want {
				t.Fatalf("PendingSteps = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPrompts(t *testing.T) {
	questions := &Tenant{Policy: Policy{Recovery: RecoveryPolicy{SecurityQuestions: true, SecurityQuestionsRequired: 2}}}
	for _, tc := range []struct {
		name string
		t    *Tenant
		pw   *PasswordSummary
		sec  Security
		want string
	}{
		{"nothing", &Tenant{}, &PasswordSummary{}, Security{}, "[]"},
		{"questions not set", questions, &PasswordSummary{}, Security{}, "[SET_RECOVERY_INFO]"},
		{"questions set", questions, &PasswordSummary{}, Security{RecoveryInfoSet: true}, "[]"},
		{"tenant without questions", &Tenant{}, nil, Security{}, "[]"},
		{"both, in the log-in's order", questions, &PasswordSummary{ExpiresSoon: true}, Security{}, "[SET_RECOVERY_INFO PASSWORD_EXPIRES_SOON]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(Prompts(tc.t, tc.pw, tc.sec)); got != tc.want {
				t.Fatalf("Prompts = %s, want %s", got, tc.want)
			}
		})
	}
}
