package account

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
)

func fields(err error) []string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidTenantCode(t *testing.T) {
	for code, want := range map[string]bool{
		"eshc": true, "eshc_train": true, "mn-live": true, "a1": true, strings.Repeat("a", 32): true,
		"a": false, strings.Repeat("a", 33): false, "ESHC": false, "has space": false, "é": false, "": false, "a.b": false,
	} {
		if got := ValidTenantCode(code); got != want {
			t.Errorf("ValidTenantCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestValidEmail(t *testing.T) {
	for addr, want := range map[string]bool{
		"jan@example.com": true, "j.o+tag@sub.example.nl": true,
		"": false, "jan": false, "jan@": false, "@example.com": false, "Jan <jan@example.com>": false,
		"jan @example.com": false, strings.Repeat("a", 250) + "@x.nl": false,
	} {
		if got := ValidEmail(addr); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", addr, got, want)
		}
	}
}

func validAccount() *Account {
	return &Account{Username: "jan@x.example", Email: "jan@x.example", DisplayName: "Jan", Roles: []Role{RoleUser}}
}

func TestValidateNewAccount(t *testing.T) {
	emailPolicy := DefaultPolicy()
	emailPolicy.UsernameIsEmail = true
	for _, tc := range []struct {
		name   string
		change func(*Account)
		policy Policy
		want   []string
	}{
		{"valid", func(*Account) {}, emailPolicy, nil},
		{"username differs from e-mail where it must equal it", func(a *Account) { a.Username = "jan" }, emailPolicy, []string{"username"}},
		{"same address in another case is equal", func(a *Account) { a.Username = "JAN@x.example" }, emailPolicy, nil},
		{"plain username allowed by default", func(a *Account) { a.Username = "jan.jansen" }, DefaultPolicy(), nil},
		{"username with a space", func(a *Account) { a.Username = "jan jansen" }, DefaultPolicy(), []string{"username"}},
		{"everything missing", func(a *Account) { *a = Account{} }, DefaultPolicy(), []string{"username", "email", "displayName", "roles"}},
		{"unknown role", func(a *Account) { a.Roles = []Role{"KING"} }, DefaultPolicy(), []string{"roles"}},
		{"operator role refused in tenants", func(a *Account) { a.Roles = []Role{RoleOperator} }, DefaultPolicy(), []string{"roles"}},
		{"duplicate role", func(a *Account) { a.Roles = []Role{RoleUser, RoleUser} }, DefaultPolicy(), []string{"roles"}},
		{"control character in name", func(a *Account) { a.DisplayName = "Jan\x00" }, DefaultPolicy(), []string{"displayName"}},
		{"bad locale", func(a *Account) { a.Locale = "english please" }, DefaultPolicy(), []string{"locale"}},
		{"full-width username", func(a *Account) { a.Username = "Ｊａｎ" }, DefaultPolicy(), nil},
		{"username with a combining accent", func(a *Account) { a.Username = "rene\u0301" }, DefaultPolicy(), nil},
		{"username in a script with vowel signs", func(a *Account) { a.Username = "\u0905\u0928\u093f\u0932" }, DefaultPolicy(), nil},
		{"username with a control character", func(a *Account) { a.Username = "jan\u0007" }, DefaultPolicy(), []string{"username"}},
		{"username with an unassigned code point", func(a *Account) { a.Username = "jan\u0378" }, DefaultPolicy(), []string{"username"}},
		{"username with an invisible character", func(a *Account) { a.Username = "jan\u200b" }, DefaultPolicy(), []string{"username"}},
		{"username of spaces", func(a *Account) { a.Username = "   " }, DefaultPolicy(), []string{"username"}},
		{"full-width e-mail equal to the username", func(a *Account) { a.Email = "ＪＡＮ@x.example" }, emailPolicy, nil},
		{"e-mail with an unassigned code point", func(a *Account) { a.Email = "jan\u0378@x.example" }, DefaultPolicy(), []string{"email"}},
		{"e-mail with an invisible character", func(a *Account) { a.Email = "jan\u200b@x.example" }, DefaultPolicy(), []string{"email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAccount()
			tc.change(a)
			got := fields(ValidateNewAccount(a, tc.policy, ""))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateNewAccount_PrefixesFields(t *testing.T) {
	got := fields(ValidateNewAccount(&Account{Username: "a", Email: "bad", DisplayName: "A", Roles: []Role{RoleAdmin}}, DefaultPolicy(), "firstAdmin"))
	if !slices.Equal(got, []string{"firstAdmin.email"}) {
		t.Fatalf("fields = %v", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate("policy"); err != nil {
		t.Fatalf("the default policy is invalid: %v", err)
	}
	p := DefaultPolicy()
	p.Password.MinLength = 7
	p.Password.HistoryCount = 25
	p.Password.MinDigits = -1
	p.Lockout.MaxFailedAttempts = 0
	p.Recovery.SecurityQuestions = true
	p.Recovery.SecurityQuestionsRequired = 0
	p.LinkBaseURL = "javascript:alert(1)"
	p.FromAddress = "not an address"
	got := fields(p.Validate("policy"))
	want := []string{"policy.password.minLength", "policy.password.minDigits", "policy.password.historyCount",
		"policy.lockout.maxFailedAttempts", "policy.recovery.securityQuestionsRequired", "policy.fromAddress", "policy.linkBaseUrl"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields\n got %v\nwant %v", got, want)
	}
	p = DefaultPolicy()
	p.Password.MinLength = 128
	p.Password.MinUppercase, p.Password.MinDigits = 100, 100
	if got := fields(p.Validate("policy")); !slices.Contains(got, "policy.password") {
		t.Fatalf("unsatisfiable counts not refused: %v", got)
	}
}
