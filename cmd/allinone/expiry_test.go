package allinone_test

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
)

// startAt runs the suite on SQLite with a clock the test moves.
func startAt(t *testing.T, clk *clock.Fake) *allinone.Instance {
	t.Helper()
	return startWithClock(t, false, testkit.NATS(t).URL, t.TempDir(), clk)
}

// J2 step 5: after 90 days the password must be changed at log-in, and a
// password used in the last 6 changes is refused; in the last 14 days
// before that, log-ins carry PASSWORD_EXPIRES_SOON.
func TestPasswordExpiry_WarnsThenForcesAChange_HistoryRefusesReuse(t *testing.T) {
	clk := clock.NewFake(time.Now())
	inst := startAt(t, clk)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{
		"minLength": 8, "minUppercase": 1, "minDigits": 1, "minSymbols": 1, "maxAgeDays": 90, "expiryWarningDays": 14, "historyCount": 6}})
	anon := client{t: t, base: inst.HTTPURL}
	tokens := finishFirstLogin(t, anon, code)
	me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
	// Six changes: each new password is remembered.
	current := "Much-Better-Pass-1"
	for i := 2; i <= 7; i++ {
		next := fmt.Sprintf("Rotation-%d-Pass!", i)
		if st, body := me.do("POST", "/v1/me/password", map[string]any{"currentPassword": current, "newPassword": next}); st != 200 {
			t.Fatalf("change %d: %d %v", i, st, body)
		}
		current = next
	}

	clk.Advance(80 * 24 * time.Hour)
	st, body := login(anon, code, "admin", current)
	if st != 200 || body["accessToken"] == nil || fmt.Sprint(body["prompts"]) != "[PASSWORD_EXPIRES_SOON]" {
		t.Fatalf("log-in 80 days after the change: %d %v, want tokens and PASSWORD_EXPIRES_SOON", st, body)
	}

	clk.Advance(11 * 24 * time.Hour)
	st, body = login(anon, code, "admin", current)
	if st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
		t.Fatalf("log-in 91 days after the change: %d %v, want CHANGE_PASSWORD", st, body)
	}
	// One of the last six is refused.
	st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Rotation-3-Pass!"})
	if st != 400 || !slices.Contains(fieldViolations(body), "newPassword") {
		t.Fatalf("reuse of a recent password: %d %v, want 400 naming newPassword", st, body)
	}
	_, body = login(anon, code, "admin", current)
	st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Brand-New-Pass-8!"})
	if st != 200 || body["accessToken"] == nil || body["prompts"] != nil {
		t.Fatalf("new password after expiry: %d %v, want tokens and no prompt", st, body)
	}
}

// A log-in ticket lives five minutes.
func TestLoginTicket_ExpiresAfterFiveMinutes(t *testing.T) {
	clk := clock.NewFake(time.Now())
	inst := startAt(t, clk)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	anon := client{t: t, base: inst.HTTPURL}
	_, body := login(anon, code, "admin", "Temporary-Pass-2026")
	clk.Advance(5*time.Minute + time.Second)
	if st, body := anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"}); st != 401 {
		t.Fatalf("ticket after 5 minutes: %d %v, want 401", st, body)
	}
}

// A temporary password works for the tenant's temporaryPasswordDays (7 by
// default), then an admin must set a new one.
func TestTemporaryPassword_ExpiresByTenantSetting(t *testing.T) {
	clk := clock.NewFake(time.Now())
	inst := startAt(t, clk)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{"temporaryPasswordDays": 3}})
	anon := client{t: t, base: inst.HTTPURL}
	clk.Advance(2 * 24 * time.Hour)
	if st, body := login(anon, code, "admin", "Temporary-Pass-2026"); st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
		t.Fatalf("after 2 days: %d %v", st, body)
	}
	clk.Advance(24 * time.Hour)
	st, body := login(anon, code, "admin", "Temporary-Pass-2026")
	if st != 403 || !strings.Contains(fmt.Sprint(body["details"]), "TEMPORARY_PASSWORD_EXPIRED") {
		t.Fatalf("after 3 days: %d %v, want 403 TEMPORARY_PASSWORD_EXPIRED", st, body)
	}
	if st, _ := login(anon, code, "admin", "wrong"); st != 401 {
		t.Fatalf("a wrong password still gets the usual 401: %d", st)
	}
}

// J2: the "password expires soon" e-mail. The credential service's sweep
// finds a password in the tenant's 14-day window and the notice, with the
// expiry date, arrives once, however often the sweep runs: when a second
// password enters its window later, the first has been swept again and
// still has its one notice.
func TestPasswordExpiry_WarningEmailedOncePerExpiry(t *testing.T) {
	clk := clock.NewFake(time.Now())
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.Credential.ExpiryWarningEvery = 20 * time.Millisecond
	inst := startWithConfig(t, false, cfg)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"brandName": "Clienttrack",
		"password": map[string]any{"maxAgeDays": 90, "expiryWarningDays": 14}})
	anon := client{t: t, base: inst.HTTPURL}
	finishFirstLogin(t, anon, code)
	admin := op.asTenant(code) // an operator acting in the tenant: its token does not expire with the clock
	day := 24 * time.Hour
	adminExpires := clk.Now().Add(90 * day).UTC().Format("2 January 2006")

	clk.Advance(10 * day)
	st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "bert", "email": "bert@" + code + ".example",
		"displayName": "Bert", "roles": []string{"USER"}, "activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Starting-Point-2026"})
	if st != 200 {
		t.Fatalf("create bert: %d %v", st, body)
	}
	id := body["account"].(map[string]any)["id"].(string)
	if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":setPassword", map[string]any{"password": "Chosen-By-Admin-1", "temporary": false}); st != 200 {
		t.Fatalf("set bert's password: %d %v", st, body)
	}
	bertExpires := clk.Now().Add(90 * day).UTC().Format("2 January 2006")

	clk.Advance(70 * day) // the admin's password is 80 days old, bert's 70
	waitForMail(t, anon, "admin@"+code+".example", "Clienttrack", adminExpires)
	clk.Advance(6 * day) // bert's is 76 days old; the admin's, 86, was warned
	waitForMail(t, anon, "bert@"+code+".example", "Clienttrack", bertExpires)

	_, body = anon.do("GET", "/ui/mailbox/messages?to=admin@"+code+".example", nil)
	n := 0
	for _, m := range items(body, "messages") {
		if strings.Contains(m.(map[string]any)["text"].(string), adminExpires) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d expiry notices to the admin, want 1", n)
	}
}
