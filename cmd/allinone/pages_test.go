package allinone_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit"
)

// pageBrowser drives the hosted pages over HTTP with a cookie jar, the
// way a browser without JavaScript would (redirects not followed, so each
// step is seen).
type pageBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPageBrowser(t *testing.T, base string) *pageBrowser {
	jar, _ := cookiejar.New(nil)
	return &pageBrowser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var pageCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *pageBrowser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.c.Get(b.base + path)
	} else {
		resp, err = b.c.PostForm(b.base+path, form)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// submit opens formPath, then posts form (with the page's CSRF token) to action.
func (b *pageBrowser) submit(formPath, action string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	st, body, _ := b.do(http.MethodGet, formPath, nil)
	m := pageCSRF.FindStringSubmatch(body)
	if st != 200 || m == nil {
		b.t.Fatalf("GET %s: %d without a form:\n%s", formPath, st, body)
	}
	form.Set("csrf", m[1])
	return b.do(http.MethodPost, action, form)
}

// The hosted pages carry a first log-in end to end on the running suite:
// sign in with the temporary password, choose a new one (the policy's
// rules listed, a weak one refused next to its field), land on the
// signed-in page, sign out; the new password then works over REST too.
func TestPages_TemporaryPassword_ChangePassword_Landing(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{"minLength": 10, "minDigits": 1}})
	b := newPageBrowser(t, inst.HTTPURL)

	st, body, h := b.do(http.MethodGet, "/ui/?tenant="+code, nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/sign-in?tenant="+code {
		t.Fatalf("landing page signed out: %d %s", st, h.Get("Location"))
	}
	st, body, h = b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {"wrong-password-1"}})
	if st != http.StatusUnauthorized || !strings.Contains(body, "or your account is locked") {
		t.Fatalf("wrong password: %d\n%s", st, body)
	}
	st, _, h = b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {"Temporary-Pass-2026"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/login/password" {
		t.Fatalf("temporary password: %d to %q, want the new-password step", st, h.Get("Location"))
	}
	st, body, _ = b.do(http.MethodGet, "/ui/login/password", nil)
	if st != 200 || !strings.Contains(body, "at least 10 characters") || !strings.Contains(body, "at least 1 digit") {
		t.Fatalf("new-password page without the rules: %d\n%s", st, body)
	}
	st, body, _ = b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"short"}, "new_password_again": {"short"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="e-new_password"`) || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("weak password: %d\n%s", st, body)
	}
	st, _, h = b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"Much-Better-Pass-1"}, "new_password_again": {"Much-Better-Pass-1"}})
	// Back where the browser first went (the e-mail's /ui/?tenant= link).
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/?tenant="+code {
		t.Fatalf("new password: %d to %q, want the landing page", st, h.Get("Location"))
	}
	st, body, h = b.do(http.MethodGet, "/ui/?tenant="+code, nil)
	if st != 200 || !strings.Contains(body, "admin") || !strings.Contains(body, code) {
		t.Fatalf("landing page: %d\n%s", st, body)
	}
	if h.Get("Content-Security-Policy") == "" || h.Get("Cache-Control") != "no-store" || h.Get("X-Request-Id") == "" {
		t.Errorf("landing page headers: %v", h)
	}
	st, _, h = b.submit("/ui/", "/ui/sign-out", url.Values{})
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/sign-in") {
		t.Fatalf("sign out: %d %q", st, h.Get("Location"))
	}
	if st, _, _ = b.do(http.MethodGet, "/ui/", nil); st != http.StatusSeeOther {
		t.Fatalf("landing page after sign-out: %d", st)
	}
	anon := client{t: t, base: inst.HTTPURL}
	if st, body := login(anon, code, "admin", "Much-Better-Pass-1"); st != 200 || body["accessToken"] == nil {
		t.Fatalf("REST log-in with the password set in the pages: %d %v", st, body)
	}
	// The mailbox is still there beside the pages.
	if st, _, _ = b.do(http.MethodGet, "/ui/mailbox/", nil); st != 200 {
		t.Errorf("mailbox: %d", st)
	}
}

var (
	pageKey   = regexp.MustCompile(`<code class="key" id="enroll-key">([A-Z2-7 ]+)</code>`)
	pageCodes = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

// A tenant that requires two-step verification, in the pages: new
// password, then the enrolment (QR code as a data: image and the key as
// text), the app's first code, the recovery codes once with "I saved
// them", the landing page; the next sign-in asks for the code.
func TestPages_EnrollMFA_RecoveryCodes_NextSignInAsksForCode(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"mfa": map[string]any{"required": true}})
	b := newPageBrowser(t, inst.HTTPURL)
	signIn := func(pw string) (int, http.Header) {
		st, _, h := b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {pw}})
		return st, h
	}
	if st, h := signIn("Temporary-Pass-2026"); st != http.StatusSeeOther || h.Get("Location") != "/ui/login/password" {
		t.Fatalf("sign-in: %d %q", st, h.Get("Location"))
	}
	st, _, h := b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"Much-Better-Pass-1"}, "new_password_again": {"Much-Better-Pass-1"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/login/enroll" {
		t.Fatalf("new password: %d %q, want the enrolment", st, h.Get("Location"))
	}
	st, body, _ := b.submit("/ui/login/enroll", "/ui/login/enroll", url.Values{"action": {"start"}})
	m := pageKey.FindStringSubmatch(body)
	if st != 200 || m == nil || !strings.Contains(body, `src="data:image/png;base64,iVBOR`) {
		t.Fatalf("enrolment: %d without the QR image or key\n%s", st, body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	b.logCookie()

	// A wrong first code: the page again, the key still shown.
	st, body, _ = b.submit("/ui/login/enroll", "/ui/login/enroll", url.Values{"code": {wrongCode(totpAt(t, secret, time.Now()))}})
	if st != http.StatusUnauthorized || !pageKey.MatchString(body) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("wrong first code: %d\n%s", st, body)
	}
	st, body, h = b.submit("/ui/login/enroll", "/ui/login/enroll", url.Values{"code": {totpAt(t, secret, time.Now())}})
	codes := pageCodes.FindAllStringSubmatch(body, -1)
	if st != 200 || len(codes) == 0 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("first code: %d, %d recovery codes\n%s", st, len(codes), body)
	}
	st, _, h = b.do(http.MethodPost, "/ui/login/done", url.Values{"csrf": {pageCSRF.FindStringSubmatch(body)[1]}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("I saved them: %d %q", st, h.Get("Location"))
	}
	if st, _, _ = b.do(http.MethodGet, "/ui/", nil); st != 200 {
		t.Fatalf("landing page: %d", st)
	}
	b.logCookie()
	b.submit("/ui/", "/ui/sign-out", url.Values{})

	if st, h := signIn("Much-Better-Pass-1"); st != http.StatusSeeOther || h.Get("Location") != "/ui/login/code" {
		t.Fatalf("next sign-in: %d %q, want the code", st, h.Get("Location"))
	}
	// A recovery code works in place of the app's code.
	st, _, h = b.submit("/ui/login/code", "/ui/login/code", url.Values{"recovery_code": {codes[0][1]}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("recovery code: %d %q", st, h.Get("Location"))
	}
}

// logCookie logs the size of the session cookie (browsers keep about 4 KB).
func (b *pageBrowser) logCookie() {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "latchkey_session") {
			b.t.Logf("session cookie: %d bytes", len(c.Value))
		}
	}
}

var mailLink = regexp.MustCompile(`https?://[^\s/]+(/ui/(?:activate|reset-password)\?token=[A-Za-z0-9_%.\-]+)`)

// linkFromMail waits for a message to addr whose text has a link of the
// pages matching kind ("activate", "reset-password") and returns its path.
func linkFromMail(t *testing.T, anon client, addr, kind string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := anon.do("GET", "/ui/mailbox/messages?to="+url.QueryEscape(addr), nil)
		for _, m := range items(body, "messages") {
			text, _ := m.(map[string]any)["text"].(string)
			for _, l := range mailLink.FindAllStringSubmatch(text, -1) {
				if strings.HasPrefix(l[1], "/ui/"+kind+"?") {
					return l[1]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s link to %s in the mailbox: %v", kind, addr, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The e-mailed links in the pages, on the running suite: the activation
// link (token taken off the URL, password set twice, then to sign-in with
// the company code filled in), a second use refused; forgot password
// (the same 202 page for an unknown account), the reset link, the new
// password, signing in with it.
func TestPages_ActivationLink_ForgotPassword_ResetLink(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"password": map[string]any{"minLength": 10}})
	anon := client{t: t, base: inst.HTTPURL}
	admin := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	email := "bob@" + code + ".example"
	if st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "bob", "email": email, "displayName": "Bob", "roles": []string{"USER"}, "activation": "EMAIL_LINK"}); st != 200 {
		t.Fatalf("invite: %d %v", st, body)
	}
	link := linkFromMail(t, anon, email, "activate")
	b := newPageBrowser(t, inst.HTTPURL)
	st, _, h := b.do(http.MethodGet, link, nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/activate" {
		t.Fatalf("activation link: %d to %q, want /ui/activate without the token", st, h.Get("Location"))
	}
	st, dbg, h := b.submit("/ui/activate", "/ui/activate", url.Values{"new_password": {"Quiet-River-Pass-1"}, "new_password_again": {"Quiet-River-Pass-1"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/sign-in?tenant="+code {
		t.Fatalf("activate: %d to %q\n%s", st, h.Get("Location"), dbg)
	}
	st, body, _ := b.do(http.MethodGet, "/ui/sign-in?tenant="+code, nil)
	if !strings.Contains(body, "Your password is set") || !strings.Contains(body, `value="`+code+`"`) {
		t.Fatalf("sign-in after activation: %d\n%s", st, body)
	}
	st, _, h = b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"bob"}, "password": {"Quiet-River-Pass-1"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("sign-in with the activated password: %d %q", st, h.Get("Location"))
	}
	// The link again: used up.
	other := newPageBrowser(t, inst.HTTPURL)
	other.do(http.MethodGet, link, nil) // the form shows; the post says the link is gone
	st, body, _ = other.submit("/ui/activate", "/ui/activate", url.Values{"new_password": {"Another-Pass-12"}, "new_password_again": {"Another-Pass-12"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "This link is not valid") {
		t.Fatalf("a used activation link: %d\n%s", st, body)
	}

	// Forgot password: the same page for an account that does not exist.
	f := newPageBrowser(t, inst.HTTPURL)
	st, unknown, _ := f.submit("/ui/forgot-password?tenant="+code, "/ui/forgot-password", url.Values{"tenant": {code}, "login": {"nobody"}})
	if st != http.StatusAccepted {
		t.Fatalf("forgot password, unknown account: %d", st)
	}
	st, known, _ := f.submit("/ui/forgot-password?tenant="+code, "/ui/forgot-password", url.Values{"tenant": {code}, "login": {"bob"}})
	if st != http.StatusAccepted || known != unknown || !strings.Contains(known, "If the account exists, an e-mail is on its way") {
		t.Fatalf("forgot password: %d, same page as an unknown account: %v", st, known == unknown)
	}
	link = linkFromMail(t, anon, email, "reset-password")
	st, _, h = f.do(http.MethodGet, link, nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/reset-password" {
		t.Fatalf("reset link: %d to %q", st, h.Get("Location"))
	}
	st, _, h = f.submit("/ui/reset-password", "/ui/reset-password", url.Values{"new_password": {"Green-Hill-Pass-22"}, "new_password_again": {"Green-Hill-Pass-22"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/sign-in?tenant="+code {
		t.Fatalf("reset: %d to %q", st, h.Get("Location"))
	}
	if st, body := login(anon, code, "bob", "Green-Hill-Pass-22"); st != 200 || body["accessToken"] == nil {
		t.Fatalf("log-in with the reset password: %d %v", st, body)
	}
}

// The sign-in page answers a locked account's right password exactly as it
// answers a wrong password: the same status and the same page (but for the
// username typed back into its field).
func TestPages_SignIn_LockedLooksLikeWrongPassword(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	anon := client{t: t, base: inst.HTTPURL}
	admin := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	lockedID, _ := userWithPassword(t, admin, code, "carol", "Silver-Lake-Pass-1")
	userWithPassword(t, admin, code, "dave", "Amber-Field-Pass-1")
	if st, body := admin.do("POST", "/v1/admin/accounts/"+lockedID+":lock", map[string]any{}); st != 200 {
		t.Fatalf("lock: %d %v", st, body)
	}
	b := newPageBrowser(t, inst.HTTPURL)
	try := func(user, pw string) (int, string) {
		st, body, _ := b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {user}, "password": {pw}})
		return st, strings.ReplaceAll(body, `value="`+user+`"`, "")
	}
	lockedSt, locked := try("carol", "Silver-Lake-Pass-1")
	wrongSt, wrong := try("dave", "not-the-password-1")
	if lockedSt != http.StatusUnauthorized || wrongSt != http.StatusUnauthorized {
		t.Fatalf("statuses: locked %d, wrong password %d; want 401 both", lockedSt, wrongSt)
	}
	if locked != wrong {
		t.Errorf("a locked account's page differs from a wrong password's")
	}
	if !strings.Contains(locked, "Wrong company code, username or password, or your account is locked — see your e-mail.") {
		t.Errorf("failure text missing:\n%s", locked)
	}
}

// The all-in-one generates the pages' session key ring into its data
// directory (0600) and keeps it, so a signed-in browser stays signed in
// across a restart.
func TestPages_SessionKeysGenerated_SessionSurvivesRestart(t *testing.T) {
	cfg := keysConfig(t, false)
	inst := startWithConfig(t, false, cfg)
	if !inst.UISessionKeysNew || inst.UISessionKeysPath == "" {
		t.Fatalf("no session key ring generated: %q", inst.UISessionKeysPath)
	}
	if st, err := os.Stat(inst.UISessionKeysPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key ring file: %v, %v; want mode 0600", st, err)
	}
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	finishFirstLogin(t, client{t: t, base: inst.HTTPURL}, code)
	b := newPageBrowser(t, inst.HTTPURL)
	st, _, h := b.submit("/ui/sign-in?tenant="+code, "/ui/sign-in", url.Values{"tenant": {code}, "username": {"admin"}, "password": {"Much-Better-Pass-1"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d %q", st, h.Get("Location"))
	}
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	again := startWithConfig(t, false, cfg)
	if again.UISessionKeysNew || again.UISessionKeysPath != inst.UISessionKeysPath {
		t.Fatalf("restart made a new key ring (%q)", again.UISessionKeysPath)
	}
	b.base = again.HTTPURL // the jar's cookies are per host, not port
	if st, body, _ := b.do(http.MethodGet, "/ui/", nil); st != 200 || !strings.Contains(body, code) {
		t.Fatalf("landing page after the restart: %d\n%s", st, body)
	}
}
