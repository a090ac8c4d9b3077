package credential

import (
	"fmt"
	"testing"
	"time"
)

func TestFacts_StepsAndPrompts(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pw := func(age time.Duration, temporary bool) *Password {
		return &Password{ChangedAt: now.Add(-age), Temporary: temporary}
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name        string
		f           Facts
		done        map[Step]bool
		wantSteps   string
		wantPrompts string
	}{
		{"nothing due", Facts{Password: pw(day, false)}, nil, "[]", "[]"},
		{"temporary password", Facts{Password: pw(0, true)}, nil, "[CHANGE_PASSWORD]", "[]"},
		{"J2 first log-in: terms then password", Facts{Password: pw(0, true), TermsRequired: true, TermsVersion: "v1"}, nil, "[ACCEPT_TERMS CHANGE_PASSWORD]", "[]"},
		{"terms already accepted", Facts{Password: pw(day, false), TermsRequired: true, TermsVersion: "v1", AcceptedTermsVersion: "v1"}, nil, "[]", "[]"},
		{"new terms version", Facts{Password: pw(day, false), TermsRequired: true, TermsVersion: "v2", AcceptedTermsVersion: "v1"}, nil, "[ACCEPT_TERMS]", "[]"},
		{"terms required but none published", Facts{Password: pw(day, false), TermsRequired: true}, nil, "[]", "[]"},
		{"expired after 90 days", Facts{Password: pw(90*day, false), MaxAgeDays: 90}, nil, "[CHANGE_PASSWORD]", "[]"},
		{"expires soon", Facts{Password: pw(80*day, false), MaxAgeDays: 90, ExpiryWarningDays: 14}, nil, "[]", "[PASSWORD_EXPIRES_SOON]"},
		{"not yet in warning window", Facts{Password: pw(70*day, false), MaxAgeDays: 90, ExpiryWarningDays: 14}, nil, "[]", "[]"},
		{"TOTP first", Facts{Password: pw(0, true), TOTPEnrolled: true}, nil, "[MFA CHANGE_PASSWORD]", "[]"},
		{"MFA required, none enrolled", Facts{Password: pw(day, false), MFARequired: true}, nil, "[ENROLL_MFA]", "[]"},
		{"MFA required and enrolled: the code, no enrolment", Facts{Password: pw(day, false), MFARequired: true, TOTPEnrolled: true}, nil, "[MFA]", "[]"},
		{"e-mailed key pending: its first code, not an enrolment", Facts{Password: pw(day, false), MFARequired: true, MFAKeyPending: true}, nil, "[MFA]", "[]"},
		{"e-mailed key pending without the tenant requiring MFA", Facts{Password: pw(0, true), MFAKeyPending: true}, nil, "[MFA CHANGE_PASSWORD]", "[]"},
		{"enrolment done counts as the code", Facts{Password: pw(day, false), MFARequired: true, TOTPEnrolled: true}, map[Step]bool{StepEnrollMFA: true, StepMFA: true}, "[]", "[]"},
		{"steps done are not asked again", Facts{Password: pw(0, true), TermsRequired: true, TermsVersion: "v1"}, map[Step]bool{StepAcceptTerms: true}, "[CHANGE_PASSWORD]", "[]"},
		{"recovery info missing", Facts{Password: pw(day, false), SecurityQuestions: true}, nil, "[]", "[SET_RECOVERY_INFO]"},
		{"recovery info set", Facts{Password: pw(day, false), SecurityQuestions: true, RecoveryInfoSet: true}, nil, "[]", "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Now = now
			if got := fmt.Sprint(tc.f.Steps(tc.done)); got != tc.wantSteps {
				t.Errorf("steps = %s, want %s", got, tc.wantSteps)
			}
			if got := fmt.Sprint(tc.f.Prompts()); got != tc.wantPrompts {
				t.Errorf("prompts = %s, want %s", got, tc.wantPrompts)
			}
		})
	}
}

// The sweep's window agrees with the log-in's prompt: a password in the
// window gets PASSWORD_EXPIRES_SOON, one outside does not.
func TestExpiryWarningWindow_AgreesWithThePrompt(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	after, upTo, ok := ExpiryWarningWindow(now, 90, 14)
	if !ok {
		t.Fatal("no window for 90/14")
	}
	for _, age := range []time.Duration{0, 75*day - time.Second, 76 * day, 80 * day, 90*day - time.Second, 90 * day, 100 * day} {
		changed := now.Add(-age)
		f := Facts{Now: now, Password: &Password{ChangedAt: changed}, MaxAgeDays: 90, ExpiryWarningDays: 14}
		prompted := len(f.Prompts()) == 1
		inWindow := changed.After(after) && !changed.After(upTo)
		if prompted != inWindow {
			t.Errorf("age %v: prompt %v, window %v", age, prompted, inWindow)
		}
		if inWindow && !ExpiresAt(changed, 90).After(now) {
			t.Errorf("age %v: in the window but expired", age)
		}
	}
	for _, c := range [][2]int{{0, 14}, {90, 0}, {-1, 3}} {
		if _, _, ok := ExpiryWarningWindow(now, c[0], c[1]); ok {
			t.Errorf("window for %v", c)
		}
	}
}
