package allinone_test

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
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
	// The session cookie stays well within what a browser keeps (4 KB).
	u, _ := url.Parse(inst.HTTPURL)
	for _, c := range user.c.Jar.Cookies(u) {
		if n := len("__Host-latchkey_session") + len(c.Value); c.Name == "latchkey_session" && n > 3500 {
			t.Errorf("session cookie during the enrolment: %d bytes", n)
		} else if c.Name == "latchkey_session" {
			t.Logf("session cookie during the enrolment: %d bytes (as __Host-latchkey_session)", n)
		}
	}
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

// upload posts a file field (and the form page's CSRF token) as
// multipart/form-data, the way the import form sends it.
func (b *pageBrowser) upload(formPath, action, field, content string) (int, string) {
	b.t.Helper()
	st, body, _ := b.do(http.MethodGet, formPath, nil)
	m := pageCSRF.FindStringSubmatch(body)
	if st != 200 || m == nil {
		b.t.Fatalf("GET %s: %d without a form:\n%s", formPath, st, body)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", m[1])
	fw, _ := w.CreateFormFile(field, "accounts.csv")
	_, _ = fw.Write([]byte(content))
	_ = w.Close()
	resp, err := b.c.Post(b.base+action, w.FormDataContentType(), &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// The rest of the admin area on the running suite: a CSV import refused as
// a whole for one bad row (listed), then accepted; the policy form changes
// one field and only that one; a terms version is published and asked at
// the next log-in.
func TestPages_AdminImportPolicyTerms(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{"minLength": 10, "minDigits": 1}, "brandName": "Importers"})
	anon := client{t: t, base: inst.HTTPURL}
	adminToken := finishFirstLogin(t, anon, code)["accessToken"].(string)
	admin := newPageBrowser(t, inst.HTTPURL)
	st, body, h := admin.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {"Much-Better-Pass-1"}})
	wantPage(t, "admin signs in", st, body, h, http.StatusSeeOther, "/ui/")

	csv := "username,email,displayName,roles,legacyPasswordHash\n" +
		"vera,vera@" + code + ".example,Vera,USER,\n" +
		"wim,wim@" + code + ".example,Wim,JANITOR,\n"
	st, body = admin.upload("/ui/admin/import", "/ui/admin/import", "file", csv)
	if st != http.StatusBadRequest || !strings.Contains(body, "Nothing was imported") || !strings.Contains(body, `<td data-label="Line">3</td>`) ||
		!strings.Contains(body, "<code>roles</code>") {
		t.Fatalf("import with an unknown role: %d\n%s", st, body)
	}
	if _, body, _ = admin.do(http.MethodGet, "/ui/admin?filter=vera", nil); strings.Contains(body, "vera@") {
		t.Fatalf("a row of a refused import was created:\n%s", body)
	}
	st, body = admin.upload("/ui/admin/import", "/ui/admin/import", "file", strings.Replace(csv, "JANITOR", "CLIENT", 1))
	if st != 200 || !strings.Contains(body, "2 accounts were imported.") {
		t.Fatalf("import: %d\n%s", st, body)
	}
	if _, body, _ = admin.do(http.MethodGet, "/ui/admin?filter=vera", nil); !strings.Contains(body, "vera@") || !strings.Contains(body, "Not activated") {
		t.Fatalf("the imported account in the list:\n%s", body)
	}

	// The policy form: one field changed, the others kept.
	st, body, _ = admin.do(http.MethodGet, "/ui/admin/policy", nil)
	if st != 200 || !strings.Contains(body, `name="password.minLength" type="text" inputmode="numeric" pattern="[0-9]*" value="10"`) {
		t.Fatalf("policy form: %d\n%s", st, body)
	}
	form := url.Values{}
	for _, m := range regexp.MustCompile(`name="([a-zA-Z.]+)" (?:type="text" inputmode="numeric" pattern="\[0-9\]\*"|type="text") value="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`name="([a-zA-Z.]+)" value="on" checked`).FindAllStringSubmatch(body, -1) {
		form.Set(m[1], "on")
	}
	form.Set("password.minLength", "12")
	st, body, h = admin.submit("/ui/admin/policy", "/ui/admin/policy", form)
	wantPage(t, "save the policy", st, body, h, http.StatusSeeOther, "/ui/admin/policy")
	ad := client{t: t, base: inst.HTTPURL, token: adminToken}
	_, tenant := ad.do("GET", "/v1/admin/tenant", nil)
	pol := tenant["tenant"].(map[string]any)["policy"].(map[string]any)
	if pw := pol["password"].(map[string]any); pw["minLength"] != 12.0 || pw["minDigits"] != 1.0 || pol["brandName"] != "Importers" {
		t.Fatalf("policy after the form: %v", pol)
	}

	// Publish terms.
	st, body, h = admin.submit("/ui/admin/terms", "/ui/admin/terms", url.Values{"version": {"2026-12"}, "text": {"Be kind to the servers."}})
	wantPage(t, "publish terms", st, body, h, http.StatusSeeOther, "/ui/admin/terms")
	if _, body, _ = admin.do(http.MethodGet, "/ui/admin/terms", nil); !strings.Contains(body, "Current version: 2026-12") {
		t.Fatalf("terms page after publishing:\n%s", body)
	}
	if st, terms := anon.do("GET", "/v1/terms?tenant="+code, nil); st != 200 || terms["version"] != "2026-12" {
		t.Fatalf("current terms: %d %v", st, terms)
	}
}
