package allinone_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// eachStoreWithClock is eachStore with a fake clock the test moves.
func eachStoreWithClock(t *testing.T, fn func(t *testing.T, op client, inst *allinone.Instance, clk *clock.Fake)) {
	for _, pg := range []bool{true, false} {
		name := map[bool]string{true: "postgres", false: "sqlite"}[pg]
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(time.Now())
			inst := startWithClock(t, pg, testkit.NATS(t).URL, t.TempDir(), clk)
			fn(t, client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}, inst, clk)
		})
	}
}

// adminTenant makes a tenant with policy whose first admin has signed in;
// it returns the tenant's code and id and the admin's client.
func adminTenant(t *testing.T, op client, policy map[string]any) (code, tenantID string, admin client) {
	t.Helper()
	code = tenantWithAdmin(t, op, policy)
	anon := client{t: t, base: op.base}
	admin = client{t: t, base: op.base, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	_, body := admin.do("GET", "/v1/admin/tenant", nil)
	return code, body["tenant"].(map[string]any)["id"].(string), admin
}

// userWithPassword has admin create a USER with a temporary password (the
// helpdesk step) and signs the user in once, setting password; it returns
// the account id and the log-in's tokens.
func userWithPassword(t *testing.T, admin client, code, username, password string) (string, map[string]any) {
	t.Helper()
	return userWithRoles(t, admin, code, username, []string{"USER"}, password)
}

// userWithRoles is userWithPassword for an account holding roles.
func userWithRoles(t *testing.T, admin client, code, username string, roles []string, password string) (string, map[string]any) {
	t.Helper()
	st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": username, "email": username + "@" + code + ".example",
		"displayName": "User " + username, "roles": roles, "activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Starting-Point-2026"})
	if st != 200 || body["account"].(map[string]any)["status"] != "ACTIVE" {
		t.Fatalf("helpdesk creates %s with a temporary password: %d %v", username, st, body)
	}
	id := body["account"].(map[string]any)["id"].(string)
	anon := client{t: t, base: admin.base}
	st, body = login(anon, code, username, "Starting-Point-2026")
	if st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
		t.Fatalf("%s's first log-in: %d %v", username, st, body)
	}
	st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": password})
	if st != 200 || body["accessToken"] == nil {
		t.Fatalf("%s sets a password: %d %v", username, st, body)
	}
	return id, body
}

func accountOf(body map[string]any) map[string]any {
	a, _ := body["account"].(map[string]any)
	return a
}

func reasonOf(body map[string]any) string {
	for _, d := range items(body, "details") {
		if r, ok := d.(map[string]any)["reason"].(string); ok {
			return r
		}
	}
	return ""
}

// eventMessages returns the decoded events of tenantID with the given
// subject, in stream order.
func eventMessages(t *testing.T, inst *allinone.Instance, tenantID, subject string) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, e := range testkit.ReadEvents(t, inst.NATSURL, testkit.EventQuery{Subject: subject, TenantID: tenantID, Names: inst.NATSNames}) {
		out = append(out, e.Message)
	}
	return out
}

// wantEventCounts waits for the tenant's events and checks how many of
// each subject there are (subjects not named are not checked), and that
// none came twice.
func wantEventCounts(t *testing.T, inst *allinone.Instance, tenantID string, want map[string]int) {
	t.Helper()
	testkit.WaitEvents(t, inst.NATSURL, testkit.EventQuery{TenantID: tenantID, Names: inst.NATSNames}, func(evs []testkit.Event) bool {
		got := testkit.CountBySubject(evs)
		ok := got["duplicate ids"] == 0
		for s, n := range want {
			ok = ok && got["latchkey.events.v1."+s] == n
		}
		return ok
	})
}

// J2: a user mistypes the password until the account locks; the admin
// unlocks it and the user gets in.
func TestAdmin_UnlocksAfterFailedAttempts_UserLogsIn(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, map[string]any{"lockout": map[string]any{"maxFailedAttempts": 3, "lockoutMinutes": 0}})
		id, _ := userWithPassword(t, admin, code, "mistyper", "Personal-Choice-5")
		anon := client{t: t, base: op.base}
		for i := 0; i < 3; i++ {
			if st, _ := login(anon, code, "mistyper", "wrong-guess"); st != 401 {
				t.Fatalf("failed attempt %d: %d, want 401", i+1, st)
			}
		}
		// The lock is not told to the log-in (API.md): the right password
		// gets the wrong password's answer.
		if st, body := login(anon, code, "mistyper", "Personal-Choice-5"); st != 401 || reasonOf(body) != "INVALID_CREDENTIALS" {
			t.Fatalf("right password on the locked account: %d %v, want 401 INVALID_CREDENTIALS", st, body)
		}
		st, body := admin.do("POST", "/v1/admin/accounts/"+id+":unlock", map[string]any{"reason": "called the helpdesk"})
		if st != 200 || accountOf(body)["status"] != "ACTIVE" || accountOf(body)["lockReason"] != nil {
			t.Fatalf("unlock: %d %v", st, body)
		}
		if st, body := login(anon, code, "mistyper", "Personal-Choice-5"); st != 200 || body["accessToken"] == nil {
			t.Fatalf("log-in after the unlock: %d %v", st, body)
		}
		// Unlocking an active account changes nothing: still one event.
		if st, _ := admin.do("POST", "/v1/admin/accounts/"+id+":unlock", map[string]any{}); st != 200 {
			t.Fatalf("unlock again: %d", st)
		}
		wantEventCounts(t, inst, tenantID, map[string]int{"account.locked": 1, "account.unlocked": 1})
		unlocked := eventMessages(t, inst, tenantID, "latchkey.events.v1.account.unlocked")
		ev := unlocked[0].(*eventsv1.AccountUnlocked)
		if ev.GetAccountId() != id || ev.GetPreviousReason() != accountv1.LockReason_FAILED_ATTEMPTS ||
			ev.GetMeta().GetActor().GetKind() != eventsv1.Actor_Kind_ADMIN || ev.GetMeta().GetActor().GetReason() != "called the helpdesk" ||
			ev.GetMeta().GetActor().GetAccountId() == "" {
			t.Fatalf("AccountUnlocked = %v: want the admin, their reason and the previous lock reason", ev)
		}
	})
}

// J2/J3: the admin changes a user's login ID; only the new one works, and
// the old one is not free for another account.
func TestAdmin_ChangesLoginID_OnlyTheNewOneLogsIn(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code, _, admin := adminTenant(t, op, nil)
		id, _ := userWithPassword(t, admin, code, "jan", "Personal-Choice-5")
		st, body := admin.do("POST", "/v1/admin/accounts/"+id+":changeUsername", map[string]any{"newUsername": "jan.jansen"})
		if st != 200 || accountOf(body)["username"] != "jan.jansen" {
			t.Fatalf("change username: %d %v", st, body)
		}
		anon := client{t: t, base: op.base}
		if st, _ := login(anon, code, "jan", "Personal-Choice-5"); st != 401 {
			t.Fatalf("old login ID: %d, want 401", st)
		}
		if st, body := login(anon, code, "jan.jansen", "Personal-Choice-5"); st != 200 || body["accessToken"] == nil {
			t.Fatalf("new login ID: %d %v", st, body)
		}
		// The old name is kept from other accounts for a while.
		st, body = admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "jan", "email": "other@" + code + ".example",
			"displayName": "Other Jan", "roles": []string{"USER"}})
		if st != http.StatusConflict || !slices.Contains(fieldViolations(body), "username") || reasonOf(body) != "USERNAME_RECENTLY_RELEASED" {
			t.Fatalf("another account takes the released name: %d %v, want 409 on username", st, body)
		}
		_, other := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "piet", "email": "piet@" + code + ".example",
			"displayName": "Piet", "roles": []string{"USER"}})
		otherID := accountOf(other)["id"].(string)
		for _, tc := range []struct {
			name, username string
			status         int
		}{
			{"the released name", "jan", http.StatusConflict},
			{"a name in use", "JAN.JANSEN", http.StatusConflict},
			{"an invalid name", "has space", 400},
			{"an empty name", "", 400},
		} {
			st, body := admin.do("POST", "/v1/admin/accounts/"+otherID+":changeUsername", map[string]any{"newUsername": tc.username})
			if st != tc.status || !slices.Contains(fieldViolations(body), "newUsername") {
				t.Errorf("%s: %d %v, want %d naming newUsername", tc.name, st, body, tc.status)
			}
		}
		// The account that gave the name up may take it back.
		if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":changeUsername", map[string]any{"newUsername": "jan"}); st != 200 {
			t.Fatalf("take the old name back: %d %v", st, body)
		}
	})
}

func TestChangeUsername_EmailTenantWantsTheEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "em")
		op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "E", "policy": map[string]any{"usernameIsEmail": true}})
		inT := op.asTenant(code)
		_, body := inT.do("POST", "/v1/admin/accounts", map[string]any{"username": "a@x.example", "email": "a@x.example", "displayName": "A", "roles": []string{"USER"}})
		id := accountOf(body)["id"].(string)
		st, body := inT.do("POST", "/v1/admin/accounts/"+id+":changeUsername", map[string]any{"newUsername": "b@x.example"})
		if st != 400 || reasonOf(body) == "" || !slices.Contains(fieldViolations(body), "newUsername") {
			t.Fatalf("username other than the e-mail: %d %v", st, body)
		}
		// A new e-mail address moves the username along.
		st, body = inT.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"email": "b@x.example"})
		if st != 200 || accountOf(body)["username"] != "b@x.example" || accountOf(body)["email"] != "b@x.example" {
			t.Fatalf("new e-mail in an e-mail tenant: %d %v", st, body)
		}
	})
}

// J3: ten days without a log-in lock the account; the admin reactivates it
// and the user gets in again.
func TestInactivity_TenDaysWithoutLoginLock_AdminReactivates(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, clk *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, map[string]any{"inactivityLockDays": 10})
		id, _ := userWithPassword(t, admin, code, "portal-user", "Personal-Choice-5")
		inT := op.asTenant(code)
		// The log-in reaches the account service as an event.
		var lastLogin any
		for i := 0; i < 100 && lastLogin == nil; i++ {
			_, body := inT.do("GET", "/v1/admin/accounts/"+id, nil)
			if lastLogin = accountOf(body)["lastLoginTime"]; lastLogin == nil {
				timeSleep()
			}
		}
		if lastLogin == nil {
			t.Fatal("lastLoginTime not set from the LoginSucceeded event")
		}
		sweep := func() int32 { return sweepInactive(t, inst) }
		clk.Advance(9 * 24 * time.Hour)
		if n := sweep(); n != 0 {
			t.Fatalf("sweep after 9 days locked %d, want 0", n)
		}
		clk.Advance(2 * 24 * time.Hour)
		if n := sweep(); n != 2 { // the user and the admin
			t.Fatalf("sweep after 11 days locked %d, want 2", n)
		}
		_, body := inT.do("GET", "/v1/admin/accounts/"+id, nil)
		if a := accountOf(body); a["status"] != "LOCKED" || a["lockReason"] != "INACTIVITY" {
			t.Fatalf("after the sweep: %v", a)
		}
		anon := client{t: t, base: op.base}
		if st, body := login(anon, code, "portal-user", "Personal-Choice-5"); st != 401 || reasonOf(body) != "INVALID_CREDENTIALS" {
			t.Fatalf("log-in of the inactive account: %d %v, want 401 INVALID_CREDENTIALS (a lock is not told)", st, body)
		}
		if n := sweep(); n != 0 {
			t.Fatalf("second sweep locked %d, want 0 (never twice)", n)
		}
		st, body := inT.do("POST", "/v1/admin/accounts/"+id+":reactivate", map[string]any{"reason": "back from leave"})
		if st != 200 || accountOf(body)["status"] != "ACTIVE" {
			t.Fatalf("reactivate: %d %v", st, body)
		}
		// A fresh start: the next sweep leaves the account alone.
		if n := sweep(); n != 0 {
			t.Fatalf("sweep after the reactivation locked %d, want 0", n)
		}
		if st, body := login(anon, code, "portal-user", "Personal-Choice-5"); st != 200 || body["accessToken"] == nil {
			t.Fatalf("log-in after the reactivation: %d %v", st, body)
		}
		wantEventCounts(t, inst, tenantID, map[string]int{"account.locked": 2, "account.unlocked": 1})
		for _, m := range eventMessages(t, inst, tenantID, "latchkey.events.v1.account.locked") {
			ev := m.(*eventsv1.AccountLocked)
			if ev.GetReason() != accountv1.LockReason_INACTIVITY || ev.GetMeta().GetActor().GetKind() != eventsv1.Actor_Kind_SYSTEM {
				t.Fatalf("AccountLocked = %v, want INACTIVITY by the system", ev)
			}
		}
	})
}

// Locking or disabling ends every session at once; an admin cannot do
// either to themself; each change emits exactly one event.
func TestLockAndDisable_RevokeSessions_OneEventEach(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, nil)
		id, tokens := userWithPassword(t, admin, code, "worker", "Personal-Choice-5")
		anon := client{t: t, base: op.base}
		user := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
		if st, body := user.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("me before: %d %v", st, body)
		}
		st, body := admin.do("POST", "/v1/admin/accounts/"+id+":disable", map[string]any{"reason": "left the company"})
		if st != 200 || accountOf(body)["status"] != "DISABLED" {
			t.Fatalf("disable: %d %v", st, body)
		}
		if st, _ := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]}); st != 401 {
			t.Fatalf("refresh right after disable: %d, want 401", st)
		}
		waitStatus(t, func() int { st, _ := user.do("GET", "/v1/me", nil); return st }, 401)
		if st, body := login(anon, code, "worker", "Personal-Choice-5"); st != 401 || reasonOf(body) != "INVALID_CREDENTIALS" {
			t.Fatalf("log-in of a disabled account: %d %v, want 401 INVALID_CREDENTIALS", st, body)
		}
		admin.do("POST", "/v1/admin/accounts/"+id+":disable", map[string]any{}) // again: nothing changes
		if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":lock", map[string]any{}); st != 400 {
			t.Fatalf("lock a disabled account: %d %v, want 400", st, body)
		}
		if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":reactivate", map[string]any{}); st != 200 || accountOf(body)["status"] != "ACTIVE" {
			t.Fatalf("reactivate: %d %v", st, body)
		}
		_, tokens = login(anon, code, "worker", "Personal-Choice-5")
		if tokens["refreshToken"] == nil {
			t.Fatalf("log-in after reactivation: %v", tokens)
		}
		st, body = admin.do("POST", "/v1/admin/accounts/"+id+":lock", map[string]any{"reason": "suspicious activity"})
		if st != 200 || accountOf(body)["status"] != "LOCKED" || accountOf(body)["lockReason"] != "ADMIN" {
			t.Fatalf("lock: %d %v", st, body)
		}
		if st, _ := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]}); st != 401 {
			t.Fatalf("refresh right after lock: %d, want 401", st)
		}
		admin.do("POST", "/v1/admin/accounts/"+id+":lock", map[string]any{}) // again: nothing changes
		if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":unlock", map[string]any{}); st != 200 || accountOf(body)["status"] != "ACTIVE" {
			t.Fatalf("unlock: %d %v", st, body)
		}

		// An admin cannot lock or disable themself.
		_, me := admin.do("GET", "/v1/me", nil)
		self := accountOf(me)["id"].(string)
		for _, verb := range []string{"lock", "disable"} {
			st, body := admin.do("POST", "/v1/admin/accounts/"+self+":"+verb, map[string]any{})
			if st != 400 || !strings.HasPrefix(reasonOf(body), "CANNOT_") {
				t.Errorf("admin %ss themself: %d %v, want 400 CANNOT_…", verb, st, body)
			}
		}
		if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":lock", map[string]any{"reason": strings.Repeat("x", 501)}); st != 400 ||
			!slices.Contains(fieldViolations(body), "reason") {
			t.Fatalf("overlong reason: %d %v", st, body)
		}
		wantEventCounts(t, inst, tenantID, map[string]int{
			"account.disabled": 1, "account.reactivated": 1, "account.locked": 1, "account.unlocked": 1,
		})
		disabled := eventMessages(t, inst, tenantID, "latchkey.events.v1.account.disabled")[0].(*eventsv1.AccountDisabled)
		if disabled.GetMeta().GetActor().GetReason() != "left the company" || disabled.GetAccountId() != id {
			t.Fatalf("AccountDisabled = %v", disabled)
		}
	})
}

func TestAdmin_UpdatesProfileAndRoles_KeepsTheLastAdmin(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, nil)
		_, me := admin.do("GET", "/v1/me", nil)
		adminID := accountOf(me)["id"].(string)
		_, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "kim", "email": "kim@" + code + ".example", "displayName": "Kim", "roles": []string{"USER"}})
		id := accountOf(body)["id"].(string)

		st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"displayName": "Kim de Vries", "locale": "nl-NL"})
		if a := accountOf(body); st != 200 || a["displayName"] != "Kim de Vries" || a["locale"] != "nl-NL" || a["email"] != "kim@"+code+".example" {
			t.Fatalf("patch: %d %v", st, body)
		}
		st, body = admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"email": "ADMIN@" + code + ".example"})
		if st != http.StatusConflict || !slices.Contains(fieldViolations(body), "email") {
			t.Fatalf("e-mail of another account (other case): %d %v, want 409 on email", st, body)
		}
		st, body = admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"email": "not-an-address", "displayName": "", "roles": []string{}})
		if f := fieldViolations(body); st != 400 || !slices.Contains(f, "email") || !slices.Contains(f, "displayName") || !slices.Contains(f, "roles") {
			t.Fatalf("bad fields: %d %v", st, body)
		}
		st, body = admin.do("PATCH", "/v1/admin/accounts/"+adminID, map[string]any{"roles": []string{"USER"}})
		if st != 400 || reasonOf(body) != "LAST_ADMIN" {
			t.Fatalf("last admin removes their ADMIN role: %d %v, want 400 LAST_ADMIN", st, body)
		}
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"roles": []string{"ADMIN", "USER"}}); st != 200 {
			t.Fatalf("make kim an admin: %d %v", st, body)
		}
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+adminID, map[string]any{"roles": []string{"USER"}}); st != 200 {
			t.Fatalf("step down with another admin there: %d %v", st, body)
		}
		wantEventCounts(t, inst, tenantID, map[string]int{"account.updated": 3})
	})
}

// AIP-134: the body is the account, the update mask names what changes;
// without one, what the body gives changes.
func TestAdmin_UpdateAccount_FollowsTheUpdateMask(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, _, admin := adminTenant(t, op, nil)
		_, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "ana", "email": "ana@" + code + ".example", "displayName": "Ana", "roles": []string{"USER"}})
		acct := accountOf(body)
		id := acct["id"].(string)

		// The mask limits the change to displayName; locale in the body stays out.
		st, body := admin.do("PATCH", "/v1/admin/accounts/"+id+"?updateMask=displayName", map[string]any{"displayName": "Ana Lima", "locale": "pt-BR"})
		if a := accountOf(body); st != 200 || a["displayName"] != "Ana Lima" || a["locale"] == "pt-BR" {
			t.Fatalf("masked patch: %d %v", st, body)
		}
		// Proto names work as well, and a field named by the mask but absent
		// from the body is cleared: locale "" = the tenant's locale.
		st, body = admin.do("PATCH", "/v1/admin/accounts/"+id+"?updateMask=locale,roles", map[string]any{"roles": []string{"CLIENT"}})
		if a := accountOf(body); st != 200 || a["locale"] != "en" || fmt.Sprint(a["roles"]) != "[CLIENT]" || a["displayName"] != "Ana Lima" {
			t.Fatalf("patch by mask, roles plain: %d %v", st, body)
		}
		// What a GET answered may be sent back whole: output-only fields are ignored.
		_, got := admin.do("GET", "/v1/admin/accounts/"+id, nil)
		echo := accountOf(got)
		delete(echo, "username")
		echo["displayName"] = "Ana L."
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, echo); st != 200 || accountOf(body)["displayName"] != "Ana L." {
			t.Fatalf("patch with the account as read: %d %v", st, body)
		}
		for _, tc := range []struct{ mask, reason string }{
			{"nickname", "UNKNOWN_FIELD"},
			{"displayName,username", "NOT_UPDATABLE"},
		} {
			st, body := admin.do("PATCH", "/v1/admin/accounts/"+id+"?updateMask="+tc.mask, map[string]any{"displayName": "X", "username": "x"})
			if st != 400 || reasonOf(body) != tc.reason || !slices.Contains(fieldViolations(body), "updateMask") {
				t.Errorf("mask %q: %d %v, want 400 %s on updateMask", tc.mask, st, body, tc.reason)
			}
		}
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"id": "0190aaaa-0000-7000-8000-000000000000", "displayName": "Y"}); st != 400 {
			t.Errorf("account id other than the path's: %d %v, want 400", st, body)
		}
	})
}

func TestTerms_PublishShowAcceptAndMe(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, _ *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, map[string]any{"termsRequired": true})
		anon := client{t: t, base: op.base}
		if st, body := anon.do("GET", "/v1/terms?tenant="+code, nil); st != 200 || body["version"] != nil {
			t.Fatalf("terms before any: %d %v", st, body)
		}
		st, body := admin.do("GET", "/v1/me", nil)
		if st != 200 || body["tenantCode"] != code || len(items(body, "pendingSteps")) != 0 || accountOf(body)["username"] != "admin" {
			t.Fatalf("me: %d %v", st, body)
		}
		st, body = admin.do("POST", "/v1/admin/tenant/terms", map[string]any{"version": "2026-11", "text": "# Terms\n\nBe nice."})
		if st != 200 || body["tenant"].(map[string]any)["termsVersion"] != "2026-11" {
			t.Fatalf("publish: %d %v", st, body)
		}
		if st, body := admin.do("POST", "/v1/admin/tenant/terms", map[string]any{"version": "2026-11", "text": "again"}); st != http.StatusConflict ||
			!slices.Contains(fieldViolations(body), "version") {
			t.Fatalf("same version again: %d %v", st, body)
		}
		if st, body := admin.do("POST", "/v1/admin/tenant/terms", map[string]any{"version": "", "text": ""}); st != 400 || len(fieldViolations(body)) != 2 {
			t.Fatalf("empty terms: %d %v", st, body)
		}
		if st, body := anon.do("GET", "/v1/terms?tenant="+code, nil); st != 200 || body["version"] != "2026-11" || body["text"] != "# Terms\n\nBe nice." || body["publishTime"] == nil {
			t.Fatalf("current terms: %d %v", st, body)
		}
		// An unknown tenant answers like a tenant without terms (API.md):
		// the call does not tell which codes exist.
		if st, body := anon.do("GET", "/v1/terms?tenant=no-such-tenant", nil); st != 200 || len(body) != 0 {
			t.Fatalf("terms of an unknown tenant: %d %v, want 200 and no terms", st, body)
		}
		_, body = admin.do("GET", "/v1/me", nil)
		if fmt.Sprint(items(body, "pendingSteps")) != "[ACCEPT_TERMS]" {
			t.Fatalf("me after new terms: %v", body)
		}
		if st, body := admin.do("POST", "/v1/me/terms:accept", map[string]any{"version": "2026-10"}); st != 400 || !slices.Contains(fieldViolations(body), "version") {
			t.Fatalf("accept an old version: %d %v", st, body)
		}
		if st, body := admin.do("POST", "/v1/me/terms:accept", map[string]any{"version": "2026-11"}); st != 200 || accountOf(body)["acceptedTermsVersion"] != "2026-11" {
			t.Fatalf("accept: %d %v", st, body)
		}
		admin.do("POST", "/v1/me/terms:accept", map[string]any{"version": "2026-11"}) // again: nothing changes
		if _, body := admin.do("GET", "/v1/me", nil); len(items(body, "pendingSteps")) != 0 {
			t.Fatalf("me after accepting: %v", body)
		}
		if st, _ := anon.do("GET", "/v1/me", nil); st != 401 {
			t.Fatalf("me without a token: %d, want 401", st)
		}
		if st, _ := op.asTenant(code).do("GET", "/v1/me", nil); st != 403 {
			t.Fatalf("me with an operator token: %d, want 403", st)
		}
		wantEventCounts(t, inst, tenantID, map[string]int{"tenant.terms_published": 1, "account.terms_accepted": 1})
	})
}

// adminRoutes are every administrator route that names an account, with
// a body that would be accepted.
func adminRoutes(id string) []struct{ method, path, body string } {
	return []struct{ method, path, body string }{
		{"GET", "/v1/admin/accounts/" + id, ""},
		{"PATCH", "/v1/admin/accounts/" + id, `{"displayName":"Changed"}`},
		{"POST", "/v1/admin/accounts/" + id + ":changeUsername", `{"newUsername":"taken-over"}`},
		{"POST", "/v1/admin/accounts/" + id + ":lock", `{}`},
		{"POST", "/v1/admin/accounts/" + id + ":unlock", `{}`},
		{"POST", "/v1/admin/accounts/" + id + ":disable", `{}`},
		{"POST", "/v1/admin/accounts/" + id + ":reactivate", `{}`},
	}
}

// An admin of tenant A can neither read nor change nor learn of tenant B's
// accounts; a USER gets 403 and an anonymous caller 401 on every admin
// route.
func TestAdminRoutes_OtherTenant404_User403_NoToken401(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		codeA, _, adminA := adminTenant(t, op, nil)
		codeB, _, adminB := adminTenant(t, op, nil)
		idB, _ := userWithPassword(t, adminB, codeB, "b-user", "Personal-Choice-5")
		_, userTokens := userWithPassword(t, adminA, codeA, "a-user", "Personal-Choice-5")
		user := client{t: t, base: op.base, token: userTokens["accessToken"].(string)}
		anon := client{t: t, base: op.base}
		body := func(s string) any {
			if s == "" {
				return nil
			}
			return s
		}
		for _, r := range adminRoutes(idB) {
			if st, b := adminA.do(r.method, r.path, body(r.body)); st != 404 {
				t.Errorf("admin of A, %s %s: %d %v, want 404", r.method, r.path, st, b)
			}
		}
		// B's account is untouched.
		_, b := adminB.do("GET", "/v1/admin/accounts/"+idB, nil)
		if a := accountOf(b); a["status"] != "ACTIVE" || a["displayName"] != "User b-user" || a["username"] != "b-user" {
			t.Fatalf("B's account after A's attempts: %v", a)
		}
		if _, b := adminA.do("GET", "/v1/admin/accounts?filter=b-user", nil); len(items(b, "accounts")) != 0 {
			t.Fatalf("A lists B's account: %v", b)
		}
		all := append(adminRoutes(idB), []struct{ method, path, body string }{
			{"GET", "/v1/admin/accounts", ""},
			{"POST", "/v1/admin/accounts", `{"username":"x","email":"x@x.example","displayName":"X","roles":["USER"]}`},
			{"GET", "/v1/admin/tenant", ""},
			{"PATCH", "/v1/admin/tenant/policy", `{"termsRequired":true}`},
			{"POST", "/v1/admin/tenant/terms", `{"version":"v1","text":"t"}`},
		}...)
		for _, r := range all {
			if st, b := user.do(r.method, r.path, body(r.body)); st != 403 {
				t.Errorf("USER token, %s %s: %d %v, want 403", r.method, r.path, st, b)
			}
			if st, b := anon.do(r.method, r.path, body(r.body)); st != 401 {
				t.Errorf("no token, %s %s: %d %v, want 401", r.method, r.path, st, b)
			}
		}
	})
}
