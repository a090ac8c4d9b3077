package ui

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

func TestPolicyChanges_OnlyChangedFieldsSet(t *testing.T) {
	cur := &accountv1.TenantPolicy{
		UsernameIsEmail: ptr(true),
		Password:        &accountv1.PasswordPolicy{MinLength: ptr(int32(10)), CheckBreached: ptr(true)},
		Pin:             &accountv1.PinPolicy{Enabled: ptr(false), Length: ptr(int32(6))},
		Locale:          ptr("en"),
		BrandName:       ptr("Acme"),
	}
	form := url.Values{}
	for k, v := range policyValues(cur) {
		if v == "false" {
			continue // unchecked boxes are not posted
		}
		form.Set(k, v)
	}
	// Three changes: a number, a flag turned on, a flag turned off.
	form.Set("password.minLength", "12")
	form.Set("pin.enabled", "on")
	form.Del("password.checkBreached")
	_, bad, changed, mask := policyChanges(form, cur)
	if len(bad) != 0 {
		t.Fatalf("refused: %v", bad)
	}
	want := []string{"password.minLength", "password.checkBreached", "pin.enabled"}
	if !slices.Equal(mask, want) {
		t.Fatalf("mask %v, want %v", mask, want)
	}
	if changed.GetPassword().GetMinLength() != 12 || changed.Password.CheckBreached == nil || *changed.Password.CheckBreached ||
		!changed.GetPin().GetEnabled() || changed.UsernameIsEmail != nil || changed.Locale != nil || changed.Pin.Length != nil {
		t.Fatalf("changed policy %v", changed)
	}
}

func TestPolicyChanges_BadNumberNamed(t *testing.T) {
	form := url.Values{"password.minLength": {"-1"}, "lockout.maxFailedAttempts": {"many"}}
	_, bad, _, mask := policyChanges(form, &accountv1.TenantPolicy{})
	if bad["password.minLength"] == "" || bad["lockout.maxFailedAttempts"] == "" {
		t.Fatalf("bad %v", bad)
	}
	if slices.Contains(mask, "password.minLength") {
		t.Fatalf("a refused field is in the mask: %v", mask)
	}
}

func TestParseImportCSV(t *testing.T) {
	in := "username,email,displayName,roles,legacyPasswordHash\n" +
		"ann,ann@x.example,Ann,USER;admin,$2b$10$abc\n" +
		"\n" +
		"bob,,Bob,USER,\n" +
		"carl,carl@x.example,Carl\n"
	rows, lines, bad, err := parseImportCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0].Roles, []string{"USER", "ADMIN"}) || rows[0].LegacyPasswordHash != "$2b$10$abc" {
		t.Fatalf("rows %v", rows)
	}
	if !slices.Equal(lines, []int{2, 4}) {
		t.Fatalf("lines %v", lines)
	}
	if len(bad) != 2 || bad[0] != (importRowError{Line: 4, Field: "email", Key: "reason.REQUIRED"}) || bad[1].Line != 5 || bad[1].Key != "import.err.columns" {
		t.Fatalf("bad %v", bad)
	}
	if _, _, _, err := parseImportCSV(strings.NewReader("username,email,displayName,roles,legacyPasswordHash\n")); err != errImportEmpty {
		t.Fatalf("header only: %v", err)
	}
}
