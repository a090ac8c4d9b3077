package allinone_test

import (
	"fmt"
	"slices"
	"testing"
)

// J2, the helpdesk account under a strict policy, as far as the services
// built so far carry it: the helpdesk creates the account with a temporary
// password; the first log-in accepts the terms, then replaces the password
// (policy enforced); until a recovery question is set every log-in
// carries SET_RECOVERY_INFO.
func TestJourneyJ2_TermsThenNewPasswordThenRecoveryPrompt(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{
			"password":           map[string]any{"minLength": 8, "minUppercase": 1, "minDigits": 1, "minSymbols": 1, "maxAgeDays": 90, "historyCount": 6},
			"inactivityLockDays": 10, "termsRequired": true,
			"recovery": map[string]any{"securityQuestions": true, "securityQuestionsRequired": 1},
		})
		anon := client{t: t, base: op.base}
		admin := client{t: t, base: op.base, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
		if st, body := admin.do("POST", "/v1/admin/tenant/terms", map[string]any{"version": "2026-12", "text": "Terms of use"}); st != 200 {
			t.Fatalf("publish terms: %d %v", st, body)
		}
		st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "m.devries", "email": "m.devries@" + code + ".example",
			"displayName": "Marije de Vries", "roles": []string{"USER"}, "activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Welcome!2026x"})
		if st != 200 {
			t.Fatalf("helpdesk creates the account: %d %v", st, body)
		}

		st, body = login(anon, code, "m.devries", "Welcome!2026x")
		if st != 200 || body["nextStep"] != "ACCEPT_TERMS" {
			t.Fatalf("first log-in: %d %v, want ACCEPT_TERMS first", st, body)
		}
		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "acceptTermsVersion": "2026-12"})
		if st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
			t.Fatalf("after accepting the terms: %d %v, want CHANGE_PASSWORD", st, body)
		}
		ticket := body["loginTicket"]
		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "newPassword": "alllowercase"})
		if st != 400 {
			t.Fatalf("weak password: %d %v", st, body)
		}
		var reasons []string
		for _, d := range body["details"].([]any) {
			if vs, ok := d.(map[string]any)["fieldViolations"].([]any); ok {
				for _, v := range vs {
					reasons = append(reasons, v.(map[string]any)["reason"].(string))
				}
			}
		}
		for _, want := range []string{"PASSWORD_NEEDS_UPPERCASE", "PASSWORD_NEEDS_DIGIT", "PASSWORD_NEEDS_SYMBOL"} {
			if !slices.Contains(reasons, want) {
				t.Fatalf("violations %v: want every broken rule listed, %s missing", reasons, want)
			}
		}
		// Terms are accepted once: the next log-in goes straight to the
		// password step.
		_, body = login(anon, code, "m.devries", "Welcome!2026x")
		if body["nextStep"] != "CHANGE_PASSWORD" {
			t.Fatalf("second try: %v, want CHANGE_PASSWORD (terms already accepted)", body)
		}
		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Tulpen&Molens7"})
		if st != 200 || body["accessToken"] == nil || fmt.Sprint(body["prompts"]) != "[SET_RECOVERY_INFO]" {
			t.Fatalf("new password: %d %v, want tokens with SET_RECOVERY_INFO", st, body)
		}
		st, body = login(anon, code, "m.devries", "Tulpen&Molens7")
		if st != 200 || body["accessToken"] == nil || fmt.Sprint(body["prompts"]) != "[SET_RECOVERY_INFO]" {
			t.Fatalf("next log-in: %d %v, want tokens and still SET_RECOVERY_INFO", st, body)
		}
		me := client{t: t, base: op.base, token: body["accessToken"].(string)}
		st, body = me.do("GET", "/v1/me", nil)
		if st != 200 || body["account"].(map[string]any)["acceptedTermsVersion"] != "2026-12" {
			t.Fatalf("GET /v1/me: %d %v", st, body)
		}
	})
}
