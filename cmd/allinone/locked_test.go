package allinone_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// answer is an HTTP answer as a client sees it, but for the headers that
// differ between any two answers (Date, X-Request-Id).
type answer struct {
	status int
	header http.Header
	body   []byte
}

func rawDo(t *testing.T, c client, method, path string, body any) answer {
	t.Helper()
	js, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	return answer{status: resp.StatusCode, header: h, body: raw}
}

func rawLogin(t *testing.T, c client, tenant, user, pw string) answer {
	t.Helper()
	return rawDo(t, c, "POST", "/v1/auth/login", map[string]any{"tenant": tenant, "username": user, "password": pw})
}

// sameAnswer wants got byte-identical to want: status, headers, body.
func sameAnswer(t *testing.T, what string, got, want answer) {
	t.Helper()
	if got.status != want.status || !bytes.Equal(got.body, want.body) || !headersEqual(got.header, want.header) {
		t.Fatalf("%s:\n got %d %v %s\nwant %d %v %s", what, got.status, got.header, got.body, want.status, want.header, want.body)
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// A disabled or admin-locked account is answered like a wrong password,
// whatever the password, and its PIN like a wrong PIN; LoginFailed tells
// the tenant's audit why.
func TestLockedOrDisabled_RightPasswordAndPIN_AnsweredAsWrong(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, map[string]any{"pin": map[string]any{"enabled": true, "length": 5}})
		anon := client{t: t, base: op.base}
		for _, tc := range []struct{ user, verb string }{{"leaver", "disable"}, {"suspect", "lock"}} {
			id, _ := userWithPassword(t, admin, code, tc.user, "Personal-Choice-5")
			st, body := anon.do("POST", "/v1/auth/login", map[string]any{"tenant": code, "username": tc.user, "password": "Personal-Choice-5", "deviceName": "phone"})
			if st != 200 || body["deviceKey"] == nil {
				t.Fatalf("%s log-in naming the phone: %d %v", tc.user, st, body)
			}
			key := body["deviceKey"].(string)
			me := client{t: t, base: op.base, token: body["accessToken"].(string)}
			if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPassword": "Personal-Choice-5", "newPin": "48206"}); st != 200 {
				t.Fatalf("set PIN: %d %v", st, body)
			}
			if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":"+tc.verb, map[string]any{"reason": "test"}); st != 200 {
				t.Fatalf("%s: %d %v", tc.verb, st, body)
			}
			unknown := rawLogin(t, anon, code, "nobody", "Personal-Choice-5")
			sameAnswer(t, tc.verb+"d account, right password", rawLogin(t, anon, code, tc.user, "Personal-Choice-5"), unknown)
			sameAnswer(t, tc.verb+"d account, wrong password", rawLogin(t, anon, code, tc.user, "wrong-guess"), unknown)
			unknownPIN := rawDo(t, anon, "POST", "/v1/auth/login:pin", map[string]any{"deviceKey": "made-up", "pin": "48206"})
			sameAnswer(t, tc.verb+"d account, right PIN", rawDo(t, anon, "POST", "/v1/auth/login:pin", map[string]any{"deviceKey": key, "pin": "48206"}), unknownPIN)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			var reasons []string
			for _, m := range eventMessages(t, inst, tenantID, "latchkey.events.v1.session.login_failed") {
				reasons = append(reasons, m.(*eventsv1.LoginFailed).GetReason())
			}
			joined := strings.Join(reasons, " ")
			if strings.Count(joined, "ACCOUNT_DISABLED") == 2 && strings.Count(joined, "ACCOUNT_LOCKED") == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("LoginFailed reasons %v, want 2 ACCOUNT_DISABLED and 2 ACCOUNT_LOCKED", reasons)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
