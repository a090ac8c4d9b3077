package account

import (
	"fmt"
	"testing"
)

func TestChangedPolicyFields_NamesJSONPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Policy)
		want   string
	}{
		{"nothing", func(*Policy) {}, "[]"},
		{"a top-level field", func(p *Policy) { p.InactivityLockDays = 90 }, "[inactivityLockDays]"},
		{"a nested field", func(p *Policy) { p.Password.MinLength = 14 }, "[password.minLength]"},
		{"a field whose Go name differs", func(p *Policy) { p.Password.TemporaryDays = 3 }, "[password.temporaryPasswordDays]"},
		{"several, in the policy's order", func(p *Policy) {
			p.LinkBaseURL = "https://acme.example"
			p.MFA.Required = true
			p.Lockout.LockoutMinutes = 0
			p.UsernameIsEmail = true
		}, "[usernameIsEmail lockout.lockoutMinutes mfa.required linkBaseUrl]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := DefaultPolicy()
			after := before
			tc.change(&after)
			if got := fmt.Sprint(ChangedPolicyFields(before, after)); got != tc.want {
				t.Fatalf("ChangedPolicyFields = %s, want %s", got, tc.want)
			}
		})
	}
}
