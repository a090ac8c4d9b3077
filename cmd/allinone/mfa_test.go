package allinone_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/pquerna/otp/totp"
)

// totpCode is secret's code at the clock's time.
func totpCode(t *testing.T, secret string, clk clock.Clock) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Turning on two-step verification through REST (J2 step 4): enrol after a
// fresh log-in, confirm with the app's first code (recovery codes shown
// once), log in with a code, turn it off; an administrator resets it.
func TestMFA_EnrolConfirmLogInWithCodeDisable_REST(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, clk *clock.Fake) {
		code, _, admin := adminTenant(t, op, map[string]any{"brandName": "Clienttrack"})
		id, tokens := userWithPassword(t, admin, code, "jan", "Quiet-Harbour-2026!")
		jan := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
		anon := client{t: t, base: op.base}

		st, enrol := jan.do("POST", "/v1/me/mfa/totp:enroll", map[string]any{})
		if st != 200 {
			t.Fatalf("enrol: %d %v", st, enrol)
		}
		secret, uri := enrol["secret"].(string), enrol["otpauthUri"].(string)
		png, err := base64.StdEncoding.DecodeString(enrol["qrPng"].(string))
		if err != nil || qr.Decode(t, png) != uri || !strings.Contains(uri, "issuer=Clienttrack") || !strings.Contains(uri, ":jan?") {
			t.Fatalf("enrolment: uri %s, QR %v", uri, err)
		}
		st, body := jan.do("POST", "/v1/me/mfa/totp:confirm", map[string]any{"code": "000000"})
		if st != 400 || reasonOf(body) != "TOTP_CODE_INVALID" {
			t.Fatalf("a wrong first code: %d %v", st, body)
		}
		st, body = jan.do("POST", "/v1/me/mfa/totp:confirm", map[string]any{"code": totpCode(t, secret, clk)})
		if st != 200 || len(items(body, "recoveryCodes")) != 10 {
			t.Fatalf("confirm: %d %v", st, body)
		}
		st, body = jan.do("GET", "/v1/me/mfa", nil)
		if f := items(body, "factors"); st != 200 || len(f) != 1 || f[0].(map[string]any)["confirmed"] != true || body["recoveryCodesRemaining"] != float64(10) {
			t.Fatalf("GET /v1/me/mfa: %d %v", st, body)
		}

		// The next log-in asks for the code; the next step's code signs in.
		clk.Advance(30 * time.Second)
		st, body = login(anon, code, "jan", "Quiet-Harbour-2026!")
		if st != 200 || body["nextStep"] != "MFA" {
			t.Fatalf("log-in with TOTP on: %d %v", st, body)
		}
		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": totpCode(t, secret, clk)})
		if st != 200 || body["accessToken"] == nil {
			t.Fatalf("log-in with the code: %d %v", st, body)
		}
		jan.token = body["accessToken"].(string)

		st, body = jan.do("POST", "/v1/me/mfa/recovery-codes:regenerate", map[string]any{})
		if st != 200 || len(items(body, "recoveryCodes")) != 10 {
			t.Fatalf("regenerate: %d %v", st, body)
		}
		if st, body = jan.do("DELETE", "/v1/me/mfa/totp", nil); st != 200 {
			t.Fatalf("disable: %d %v", st, body)
		}
		if _, body = jan.do("GET", "/v1/me/mfa", nil); len(items(body, "factors")) != 0 {
			t.Fatalf("factors after disable: %v", body)
		}
		if st, body = admin.do("POST", "/v1/admin/accounts/"+id+"/mfa:reset", map[string]any{}); st != 200 {
			t.Fatalf("admin reset: %d %v", st, body)
		}
		if st, body = jan.do("POST", "/v1/admin/accounts/"+id+"/mfa:reset", map[string]any{}); st != 403 {
			t.Fatalf("a user's admin reset: %d %v", st, body)
		}
	})
}

// POST /v1/mfa/key-requests (J4 step 1) answers 202 with the same status,
// headers and body, in about the same time (medians of 50 calls each,
// reported, within 10 %), whether or not the account exists; only the
// existing account gets the e-mail with the key.
func TestKeyRequest_SameRESTAnswerAndTimeForExistingAndMissingAccounts(t *testing.T) {
	inst := start(t, true, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code, _, admin := adminTenant(t, op, map[string]any{"brandName": "Track Portal"})
	userWithPassword(t, admin, code, "kim", "Quiet-Harbour-2026!")
	anon := client{t: t, base: inst.HTTPURL}
	request := func(tenant, login string) (answer, time.Duration) {
		began := time.Now()
		a := rawDo(t, anon, "POST", "/v1/mfa/key-requests", map[string]any{"tenant": tenant, "login": login})
		return a, time.Since(began)
	}
	want, _ := request(code, "kim")
	if want.status != http.StatusAccepted {
		t.Fatalf("key request: %d %s", want.status, want.body)
	}
	for _, login := range []string{"nobody", "kim@" + code + ".example"} {
		got, _ := request(code, login)
		sameAnswer(t, "key request for "+login, got, want)
	}
	// Another tenant's code answers alike too.
	got, _ := request("no-such-tenant", "kim")
	sameAnswer(t, "key request in an unknown tenant", got, want)

	waitForMail(t, anon, "kim@"+code+".example", "otpauth://totp/Track%20Portal:kim")
	_, mails := anon.do("GET", "/ui/mailbox/messages?to=kim@"+code+".example", nil)
	text := items(mails, "messages")[0].(map[string]any)["text"].(string)
	m := regexp.MustCompile(`otpauth://totp/\S+`).FindString(text)
	u, err := url.Parse(m)
	if err != nil || len(u.Query().Get("secret")) < 32 {
		t.Fatalf("no key in the e-mail: %q", m)
	}

	for range 10 { // warm-up: connections, caches, the worker's first runs
		request(code, "kim")
		request(code, "nobody")
	}
	timed := func(login string) func() time.Duration {
		return func() time.Duration {
			got, took := request(code, login)
			sameAnswer(t, "key request for "+login, got, want)
			return took
		}
	}
	testkit.SameTime(t, "REST key requests, existing vs missing account", 50, 5, 0.10, timed("kim"), timed("nobody"))
}
