package allinone_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit"
)

// wantPage fails unless an answer has the status (and, for a redirect, the
// location).
func wantPage(t *testing.T, what string, st int, body string, h http.Header, status int, location string) {
	t.Helper()
	if st != status || (location != "" && h.Get("Location") != location) {
		t.Fatalf("%s: %d to %q, want %d %q\n%s", what, st, h.Get("Location"), status, location, body)
	}
}

var (
	accountLink = regexp.MustCompile(`href="/ui/admin/accounts/([^"]+)">uma<`)
	enrollKey   = regexp.MustCompile(`<code class="key" id="enroll-key">([^<]+)</code>`)
	codeItem    = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

// The admin area and the security settings end to end on the running
// suite, through the pages only: an administrator signs in, invites a
// user, finds it in the list, sets its password and unlocks it; the user
// signs in, gives the password again for the settings, changes the
// password and turns on two-step verification.
func TestPages_AdminInvitesAndUnlocks_UserChangesPasswordAndEnrolsTOTP(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{"minLength": 10, "minDigits": 1}})
	anon := client{t: t, base: inst.HTTPURL}
	finishFirstLogin(t, anon, code) // the admin's password: Much-Better-Pass-1

	admin := newPageBrowser(t, inst.HTTPURL)
	st, body, h := admin.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {"Much-Better-Pass-1"}})
	wantPage(t, "admin signs in", st, body, h, http.StatusSeeOther, "/ui/")
	st, body, h = admin.do(http.MethodGet, "/ui/", nil)
	if st != 200 || !strings.Contains(body, `href="/ui/admin"`) || !strings.Contains(body, `href="/ui/settings"`) {
		t.Fatalf("admin's landing page without the admin and settings links: %d\n%s", st, body)
	}

	// Invite with a temporary password.
	email := "uma@" + code + ".example"
	st, body, h = admin.submit("/ui/admin/invite", "/ui/admin/invite", url.Values{"username": {"uma"}, "email": {email}, "display_name": {"Uma"},
		"roles": {"USER"}, "activation": {"TEMPORARY_PASSWORD"}, "temporary_password": {"Temporary-Pass-2026"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/admin/accounts/") {
		t.Fatalf("invite: %d to %q\n%s", st, h.Get("Location"), body)
	}
	accountPage := h.Get("Location")
	st, body, _ = admin.do(http.MethodGet, accountPage, nil)
	if st != 200 || !strings.Contains(body, "The account has been created.") || !strings.Contains(body, email) {
		t.Fatalf("the new account's page: %d\n%s", st, body)
	}

	// Find it in the list.
	st, body, _ = admin.do(http.MethodGet, "/ui/admin?filter=uma", nil)
	m := accountLink.FindStringSubmatch(body)
	if st != 200 || m == nil || "/ui/admin/accounts/"+m[1] != accountPage {
		t.Fatalf("the list filtered on uma: %d, want a link to %s\n%s", st, accountPage, body)
	}

	// Set a password (not temporary); a weak one is refused next to its field.
	st, body, h = admin.submit(accountPage, accountPage+"/setPassword", url.Values{"password": {"short"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="e-password"`) {
		t.Fatalf("weak password set by the admin: %d\n%s", st, body)
	}
	st, body, h = admin.submit(accountPage, accountPage+"/setPassword", url.Values{"password": {"Chosen-Secret-47"}})
	wantPage(t, "set password", st, body, h, http.StatusSeeOther, accountPage)

	// Lock, then unlock.
	st, body, h = admin.submit(accountPage, accountPage+"/lock", url.Values{})
	wantPage(t, "lock", st, body, h, http.StatusSeeOther, accountPage)
	if _, body, _ = admin.do(http.MethodGet, accountPage, nil); !strings.Contains(body, `<dd id="status">Locked`) {
		t.Fatalf("after lock:\n%s", body)
	}
	if st, _ := login(anon, code, "uma", "Chosen-Secret-47"); st != 401 {
		t.Fatalf("log-in of the locked account: %d, want 401", st)
	}
	st, body, h = admin.submit(accountPage, accountPage+"/unlock", url.Values{})
	wantPage(t, "unlock", st, body, h, http.StatusSeeOther, accountPage)
	if _, body, _ = admin.do(http.MethodGet, accountPage, nil); !strings.Contains(body, `<dd id="status">Active`) || !strings.Contains(body, "The account has been unlocked.") {
		t.Fatalf("after unlock:\n%s", body)
	}

	// The user signs in with the password the admin set (no change asked).
	user := newPageBrowser(t, inst.HTTPURL)
	st, body, h = user.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"uma"}, "password": {"Chosen-Secret-47"}})
	wantPage(t, "user signs in", st, body, h, http.StatusSeeOther, "/ui/")
	if st, body, _ = user.do(http.MethodGet, "/ui/admin", nil); st != http.StatusForbidden {
		t.Fatalf("a USER opens the admin area: %d, want 403\n%s", st, body)
	}

	// Settings ask the password again, then come back.
	st, body, h = user.do(http.MethodGet, "/ui/settings", nil)
	wantPage(t, "settings without a fresh password", st, body, h, http.StatusSeeOther, "/ui/reauth?return=%2Fui%2Fsettings")
	st, body, h = user.submit(h.Get("Location"), "/ui/reauth", url.Values{"password": {"Chosen-Secret-47"}})
	wantPage(t, "password again", st, body, h, http.StatusSeeOther, "/ui/settings")
	st, body, _ = user.do(http.MethodGet, "/ui/settings", nil)
	if st != 200 || !strings.Contains(body, `action="/ui/settings/password"`) || !strings.Contains(body, "at least 10 characters") {
		t.Fatalf("settings: %d\n%s", st, body)
	}

	// Change the password.
	st, body, h = user.submit("/ui/settings", "/ui/settings/password", url.Values{"current_password": {"Chosen-Secret-47"},
		"new_password": {"Newer-Secret-58"}, "new_password_again": {"Newer-Secret-58"}})
	wantPage(t, "change password", st, body, h, http.StatusSeeOther, "/ui/settings")
	if _, body, _ = user.do(http.MethodGet, "/ui/settings", nil); !strings.Contains(body, "Your password has been changed.") {
		t.Fatalf("after the change:\n%s", body)
	}
	if st, _ := login(anon, code, "uma", "Newer-Secret-58"); st != 200 {
		t.Fatalf("REST log-in with the changed password: %d", st)
	}

	// Turn on two-step verification: the key as text, a code from an
	// independent generator, the recovery codes once.
	st, body, _ = user.submit("/ui/settings", "/ui/settings/mfa/enroll", url.Values{})
	k := enrollKey.FindStringSubmatch(body)
	if st != 200 || k == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page: %d\n%s", st, body)
	}
	secret := strings.ReplaceAll(html.UnescapeString(k[1]), " ", "")
	st, body, _ = user.submit("/ui/settings", "/ui/settings/mfa/confirm", url.Values{"code": {totpAt(t, secret, time.Now())}})
	codes := codeItem.FindAllStringSubmatch(body, -1)
	if st != 200 || len(codes) == 0 || !strings.Contains(body, `action="/ui/settings/done"`) {
		t.Fatalf("confirm the first code: %d\n%s", st, body)
	}
	st, body, h = user.submit("/ui/settings", "/ui/settings/done", url.Values{})
	wantPage(t, "I saved them", st, body, h, http.StatusSeeOther, "/ui/settings")
	if _, body, _ = user.do(http.MethodGet, "/ui/settings", nil); !strings.Contains(body, `action="/ui/settings/mfa/disable"`) {
		t.Fatalf("settings after the enrolment, without the way to turn it off:\n%s", body)
	}
	// The password alone no longer signs in; a recovery code does.
	st, next := login(anon, code, "uma", "Newer-Secret-58")
	if st != 200 || next["nextStep"] != "MFA" {
		t.Fatalf("log-in after the enrolment: %d %v, want the MFA step", st, next)
	}
	st, tokens := anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": next["loginTicket"], "recoveryCode": codes[0][1]})
	if st != 200 || tokens["accessToken"] == nil {
		t.Fatalf("recovery code from the page: %d %v", st, tokens)
	}
}
