package allinone_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// A tenant that requires two-step verification: the first log-in ends
// with ENROLL_MFA; a code before the start is refused naming
// startTotpEnrollment; the start gives the key (secret, otpauth URI, QR)
// and keeps the ticket; a wrong first code is refused like a wrong MFA
// code; the app's code gives the tokens and the recovery codes; GET /v1/me
// then says TOTP is on and asks nothing more, and the next log-in asks
// for the code.
func TestLogin_EnrollMFA_TenantRequiresIt(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{"mfa": map[string]any{"required": true}})
		anon := client{t: t, base: op.base}
		_, body := login(anon, code, "admin", "Temporary-Pass-2026")
		st, body := anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"})
		if st != 200 || body["nextStep"] != "ENROLL_MFA" || body["accessToken"] != nil {
			t.Fatalf("after the new password: %d %v, want ENROLL_MFA", st, body)
		}
		ticket := body["loginTicket"].(string)

		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "totpCode": "123456"})
		if st != 400 || !slices.Contains(fieldViolations(body), "startTotpEnrollment") {
			t.Fatalf("a code before the start: %d %v, want 400 naming startTotpEnrollment", st, body)
		}

		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "startTotpEnrollment": true})
		enr, _ := body["totpEnrollment"].(map[string]any)
		if st != 200 || body["nextStep"] != "ENROLL_MFA" || body["loginTicket"] != ticket || enr == nil {
			t.Fatalf("start: %d %v, want ENROLL_MFA, the same ticket and the enrolment", st, body)
		}
		secret, _ := enr["secret"].(string)
		if !strings.HasPrefix(fmt.Sprint(enr["otpauthUri"]), "otpauth://totp/") || !strings.Contains(fmt.Sprint(enr["otpauthUri"]), secret) {
			t.Fatalf("otpauth URI %v for secret %q", enr["otpauthUri"], secret)
		}
		if png, err := base64.StdEncoding.DecodeString(fmt.Sprint(enr["qrPng"])); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
			t.Fatalf("qrPng is not a PNG: %v", err)
		}

		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "totpCode": wrongCode(totpAt(t, secret, time.Now()))})
		if st != 401 || fmt.Sprint(body["details"]) == "" || !strings.Contains(fmt.Sprint(body["details"]), "MFA_CODE_INVALID") {
			t.Fatalf("a wrong first code: %d %v, want 401 MFA_CODE_INVALID", st, body)
		}

		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "totpCode": totpAt(t, secret, time.Now())})
		codes, _ := body["recoveryCodes"].([]any)
		if st != 200 || body["accessToken"] == nil || len(codes) == 0 {
			t.Fatalf("the app's first code: %d %v, want tokens and recovery codes", st, body)
		}
		me := client{t: t, base: op.base, token: body["accessToken"].(string)}
		st, body = me.do("GET", "/v1/me", nil)
		if sec, _ := body["security"].(map[string]any); st != 200 || sec["totpEnabled"] != true || body["pendingSteps"] != nil {
			t.Fatalf("GET /v1/me after the enrolment: %d %v, want totpEnabled and nothing pending", st, body)
		}
		if st, body := login(anon, code, "admin", "Much-Better-Pass-1"); st != 200 || body["nextStep"] != "MFA" {
			t.Fatalf("the next log-in: %d %v, want MFA", st, body)
		}
	})
}

// wrongCode is a six-digit code other than c.
func wrongCode(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}

// J4's way in: a key e-mailed on request waits for its first code, and
// the log-in asks for that code (MFA), not for an enrolment; the code
// turns TOTP on.
func TestLogin_EmailedKeyAsksForItsFirstCode(t *testing.T) {
	j := startJourney(t, false)
	code, admin := j.tenant("pk", map[string]any{"brandName": "PK"}, "admin", "admin@pk.example")
	userWithPassword(t, admin, code, "jan", "Zomer-In-Delft-2026")
	st, body := j.anon.do("POST", "/v1/mfa/key-requests", map[string]any{"tenant": code, "login": "jan"})
	wantStatus(t, "ask for the key", st, body, 202)
	m := j.mailTo("jan@"+code+".example", "authenticator key")
	secret := strings.ReplaceAll(regexp.MustCompile(`[A-Z2-7]{4}( ?[A-Z2-7]{4}){5,}`).FindString(m.Text), " ", "")
	if secret == "" {
		t.Fatalf("no key as text in:\n%s", m.Text)
	}
	st, body = login(j.anon, code, "jan", "Zomer-In-Delft-2026")
	if st != 200 || body["nextStep"] != "MFA" {
		t.Fatalf("log-in with a key waiting for its first code: %d %v, want MFA", st, body)
	}
	st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": j.code(secret)})
	if st != 200 || body["accessToken"] == nil {
		t.Fatalf("the key's first code: %d %v, want tokens", st, body)
	}
	_, body = j.as(body["accessToken"]).do("GET", "/v1/me", nil)
	if sec, _ := body["security"].(map[string]any); sec["totpEnabled"] != true {
		t.Fatalf("GET /v1/me after the first code: %v, want totpEnabled", body)
	}
}
