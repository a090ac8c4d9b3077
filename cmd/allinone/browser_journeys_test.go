package allinone_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/cmd/allinone/browsertest"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
)

// The journeys of JOURNEYS.md in headless Chromium, through the hosted
// pages only: the operator sets up the tenant (REST, as an operator does)
// and the test reads the e-mail that arrives over SMTP; everything the
// user does is typing into the pages and pressing their buttons, the
// e-mailed links opened in the browser as a person would, TOTP codes from
// totpAt (not the service's library). Every page visited is screenshot,
// checked by axe-core (no serious or critical violation) and by
// uiPageCheck (security headers, a CSRF token in every form, no token
// left in the address bar). Each step is named after the journey's step.
//
// The REST journeys (journeys_test.go) cover both stores; these run on
// PostgreSQL, as production does.

// browserJourney is a journey (SMTP, fake clock) with a browser tab whose
// every /ui/ page is checked.
func browserJourney(t *testing.T) (*journey, *browsertest.Page) {
	t.Helper()
	// The browser tests run one after the other, each its own suite and
	// tab in the shared browser. (Beside each other, two suites on CI's
	// shared NATS once joined the same durable consumers and took each
	// other's invitations; each suite now has NATS names of its own,
	// startJourney's, so that no longer happens either way.)
	p := browsertest.New(t) // skips before anything starts when there is no browser
	began := time.Now()
	j := startJourney(t, true)
	t.Logf("suite started in %v", time.Since(began).Round(time.Millisecond))
	p.Check = uiPageCheck
	return j, p
}

// uiPageCheck is what every hosted page must have.
func uiPageCheck(t testing.TB, v browsertest.Visit) {
	t.Helper()
	u, err := url.Parse(v.URL)
	if err != nil || !strings.HasPrefix(u.Path, "/ui/") || strings.HasPrefix(u.Path, "/ui/mailbox/") {
		return
	}
	csp := v.Header["content-security-policy"]
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "img-src 'self' data:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", u.Path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline script or eval", u.Path, csp)
	}
	for h, want := range map[string]string{"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store"} {
		if !strings.Contains(v.Header[h], want) {
			t.Errorf("%s: %s is %q, want %q", u.Path, h, v.Header[h], want)
		}
	}
	for _, f := range v.Forms {
		if f.Method == "post" && f.Fields["csrf"] == "" {
			t.Errorf("%s: the form to %s has no CSRF token (fields %v)", u.Path, f.Action, f.Fields)
		}
	}
	if u.Query().Get("token") != "" {
		t.Errorf("%s: a link's token is left in the address bar: %s", u.Path, v.URL)
	}
}

// linkIn returns the full URL of the e-mail's link to page (activate,
// reset-password), as a person would click it.
func linkIn(t *testing.T, m *smtptest.Parsed, page string) string {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s<>"]+/ui/` + page + `\?token=[A-Za-z0-9_\-]+`)
	link := re.FindString(m.Text)
	if link == "" {
		t.Fatalf("no /ui/%s link in the e-mail:\n%s", page, m.Text)
	}
	return link
}

// signIn fills the sign-in page and presses Sign in.
func signIn(t *testing.T, p *browsertest.Page, code, user, password string) browsertest.Visit {
	t.Helper()
	if !strings.Contains(p.URL(), "/ui/sign-in") {
		t.Fatalf("not on the sign-in page but %s", p.URL())
	}
	p.Fill(t, "Company code", code)
	p.Fill(t, "Username", user)
	p.Fill(t, "Password", password)
	return p.Press(t, "Sign in")
}

// newPasswordTwice types pw into "New password" and "New password again".
func newPasswordTwice(t *testing.T, p *browsertest.Page, pw string) {
	t.Helper()
	p.Fill(t, "New password", pw)
	p.Fill(t, "New password again", pw)
}

// fieldError is the error shown next to the field labelled label (""
// when none), and whether the field is marked invalid for screen readers.
func fieldError(t *testing.T, p *browsertest.Page, label string) (msg string, ariaInvalid bool) {
	t.Helper()
	var res struct {
		Msg     string `json:"msg"`
		Invalid bool   `json:"invalid"`
	}
	p.Eval(t, `(() => {
		const norm = s => (s || '').replace(/\s+/g, ' ').trim();
		const l = [...document.querySelectorAll('label')].find(l => norm(l.textContent).startsWith(`+jsString(label)+`));
		if (!l || !l.control) return {msg: '', invalid: false};
		const c = l.control;
		const ids = (c.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
		const msg = ids.map(id => document.getElementById(id)).filter(e => e && e.classList.contains('error')).map(e => norm(e.textContent)).join(' ');
		return {msg, invalid: c.getAttribute('aria-invalid') === 'true'};
	})()`, &res)
	return res.Msg, res.Invalid
}

// left logs what a journey step does not check in the browser, and why
// (grep the test log for "LEFT:").
func left(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("LEFT: "+format, args...)
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// rulesMet counts the password rules the page shows ticked off.
func rulesMet(t *testing.T, p *browsertest.Page) (met, all int) {
	t.Helper()
	var res []bool
	p.Eval(t, `[...document.querySelectorAll('#password-rules li[data-rule]')].map(li => li.classList.contains('met'))`, &res)
	for _, m := range res {
		if m {
			met++
		}
	}
	return met, len(res)
}

// wantOn fails t unless the browser is on path (query ignored).
func wantOn(t *testing.T, p *browsertest.Page, path string) {
	t.Helper()
	u, _ := url.Parse(p.URL())
	if u == nil || u.Path != path {
		t.Fatalf("on %s, want %s; the page says:\n%s", p.URL(), path, p.Text(t))
	}
}

// readmeScreenshot keeps the page as docs/screenshots/name for the README
// when LATCHKEY_TEST_README_SCREENSHOTS is set (the pictures are committed).
func readmeScreenshot(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	if os.Getenv("LATCHKEY_TEST_README_SCREENSHOTS") == "" {
		return
	}
	p.Screenshot(t, filepath.Join("..", "..", "docs", "screenshots", name))
}

// J1 — invited staff, one identity everywhere. The office's first
// administrator activates the tenant's first account and invites Anna in
// the admin area (a username that is not the e-mail address refused);
// Anna's activation link sets her password (twice, the policy's rules
// ticked off as typed), then the sign-in page with the company code filled
// in; her first log-in asks for security questions, which she sets in the
// security settings (behind her password again); she changes her password
// there, and a forgotten one is reset by the e-mailed link and her
// questions. Two browser tabs: the office and Anna.
func TestBrowserJourneyJ1_InvitedStaff(t *testing.T) {
	j, office := browserJourney(t)
	anna := browsertest.New(t)
	anna.Check = uiPageCheck
	office.Label, anna.Label = "office", "anna"
	admin, staff := "office@hometrak.example", "anna.jansen@hometrak.example"
	code := j.newTenantWithLink("hometrak", map[string]any{"usernameIsEmail": true, "brandName": "Hometrak",
		"password": map[string]any{"minLength": 10, "minDigits": 1},
		"recovery": map[string]any{"emailLink": true, "securityQuestions": true, "securityQuestionsRequired": 2}}, admin, admin)
	questions := [][2]string{{"Name of my first teacher?", "Mevrouw  de Groot"}, {"Street I grew up in?", "Kerkstraat"}}
	var link, password string

	step(t, "0 the office's administrator activates the first account and signs in", func(t *testing.T) {
		office.Open(t, linkIn(t, j.mailTo(admin, "Activate your Hometrak account"), "activate"))
		newPasswordTwice(t, office, "Kantoor-Utrecht-2026")
		office.Press(t, "Activate")
		signIn(t, office, code, admin, "Kantoor-Utrecht-2026")
		wantOn(t, office, "/ui/")
	})
	step(t, "1 the admin creates the account; a username that is not the e-mail is refused", func(t *testing.T) {
		office.Follow(t, "Administration")
		wantOn(t, office, "/ui/admin")
		office.Follow(t, "Invite")
		wantOn(t, office, "/ui/admin/invite")
		office.Fill(t, "Username", "anna")
		office.Fill(t, "E-mail address", staff)
		office.Fill(t, "Name", "Anna Jansen")
		office.Tick(t, "Staff", true)
		office.Choose(t, "Activation", "E-mail an activation link")
		office.Press(t, "Invite")
		if msg, invalid := fieldError(t, office, "Username"); msg == "" || !invalid {
			t.Fatalf("username ≠ e-mail: error %q (aria-invalid %v) next to the username; the page says:\n%s", msg, invalid, office.Text(t))
		}
		office.Fill(t, "Username", staff)
		office.Press(t, "Invite")
		office.Contains(t, "The account has been created.")
		office.Contains(t, "Staff")
		office.Follow(t, "Accounts")
		office.Contains(t, staff, "Anna Jansen", "Not activated")
		readmeScreenshot(t, office, "admin.png")
	})
	step(t, "2 staff who had a login in the old system are imported with their old password hash (a CSV file)", func(t *testing.T) {
		old, err := bcrypt.GenerateFromPassword([]byte("Oude-Wachtwoord-1"), 8)
		if err != nil {
			t.Fatal(err)
		}
		csv := filepath.Join(t.TempDir(), "legacy.csv")
		if err := os.WriteFile(csv, []byte("username,email,displayName,roles,legacyPasswordHash\n"+
			"piet@hometrak.example,piet@hometrak.example,Piet Bakker,USER,"+string(old)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		office.Follow(t, "Import")
		office.Upload(t, "CSV file", csv)
		office.Press(t, "Import")
		office.Contains(t, "1 accounts were imported.")
		piet := browsertest.New(t)
		piet.Check, piet.Label = uiPageCheck, "piet"
		piet.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, piet, code, "piet@hometrak.example", "Oude-Wachtwoord-1")
		wantOn(t, piet, "/ui/")
		piet.Contains(t, "Piet Bakker")
	})
	step(t, "3 the activation e-mail has a link and the company code", func(t *testing.T) {
		m := j.mailTo(staff, "Activate your Hometrak account")
		if !strings.Contains(m.Text, code) {
			t.Fatalf("no company code %q in:\n%s", code, m.Text)
		}
		link = linkIn(t, m, "activate")
	})
	step(t, "4 the link opens a page that sets the password twice, the rules ticked off as typed", func(t *testing.T) {
		v := anna.Open(t, link)
		wantOn(t, anna, "/ui/activate") // the token is gone from the address bar (uiPageCheck)
		if !strings.Contains(v.Title, "Hometrak") {
			left(t, "the activation page shows no brand (title %q): the link carries only its token", v.Title)
		}
		if _, all := rulesMet(t, anna); all == 0 {
			left(t, "the activation page lists no password rules: the link carries only its token, and no API tells the tenant of an activation token")
		} else {
			anna.Contains(t, "at least 10 characters", "at least 1 digit")
			anna.Fill(t, "New password", "short")
			if met, all := rulesMet(t, anna); all != 2 || met != 0 {
				t.Fatalf("rules ticked for %q: %d of %d", "short", met, all)
			}
			anna.Fill(t, "New password", "Voorjaar-In-Utrecht-26")
			if met, all := rulesMet(t, anna); met != all {
				t.Fatalf("rules ticked for a good password: %d of %d", met, all)
			}
		}
		anna.Fill(t, "New password", "Voorjaar-In-Utrecht-26")
		anna.Fill(t, "New password again", "Voorjaar-In-Utrecht-62")
		anna.Press(t, "Activate")
		wantOn(t, anna, "/ui/activate")
		if msg, invalid := fieldError(t, anna, "New password again"); !strings.Contains(msg, "not the same") || !invalid {
			t.Fatalf("two different passwords: error %q (aria-invalid %v) next to the second field", msg, invalid)
		}
		newPasswordTwice(t, anna, "short")
		anna.Press(t, "Activate")
		if msg, invalid := fieldError(t, anna, "New password"); msg == "" || !invalid {
			t.Fatalf("a password against the policy: error %q (aria-invalid %v)", msg, invalid)
		}
		password = "Voorjaar-In-Utrecht-26"
		newPasswordTwice(t, anna, password)
		anna.Press(t, "Activate")
		wantOn(t, anna, "/ui/sign-in")
		anna.Contains(t, "Your password is set")
		if got := anna.Value(t, "Company code"); got != code {
			t.Fatalf("company code field %q, want %q filled in", got, code)
		}
		readmeScreenshot(t, anna, "sign-in.png")
	})
	step(t, "4 the link a second time is refused", func(t *testing.T) {
		anna.Open(t, link)
		if !strings.Contains(anna.Text(t), "This link is not valid") {
			// The page cannot tell a spent activation link before it is used.
			newPasswordTwice(t, anna, "Another-Password-77")
			anna.Press(t, "Activate")
		}
		anna.Contains(t, "This link is not valid")
		anna.Follow(t, "Back to sign in")
	})
	step(t, "6 sign-in takes company code, username and password; a wrong one says so, lock included", func(t *testing.T) {
		signIn(t, anna, code, staff, "Wrong-Password-99")
		wantOn(t, anna, "/ui/sign-in")
		anna.Contains(t, "Wrong company code, username or password, or your account is locked — see your e-mail.")
		anna.Fill(t, "Password", password)
		anna.Tick(t, "Remember company code and username", true)
		anna.Press(t, "Sign in")
		wantOn(t, anna, "/ui/")
		anna.Contains(t, "You are signed in", staff, code)
	})
	step(t, "5 the first log-in asks for security questions; they are saved in the security settings", func(t *testing.T) {
		anna.Contains(t, "Please set up your account recovery")
		if strings.Contains(anna.Text(t), "Administration") {
			t.Fatal("staff see the link to the admin area")
		}
		anna.Follow(t, "Security settings")
		wantOn(t, anna, "/ui/reauth")
		anna.Fill(t, "Password", password)
		anna.Press(t, "Continue")
		wantOn(t, anna, "/ui/settings")
		anna.Fill(t, "Question 1", questions[0][0])
		anna.Fill(t, "Answer 1", questions[0][1])
		anna.Press(t, "Save questions")
		if msg, _ := fieldError(t, anna, "Question 2"); msg == "" {
			if msg, _ = fieldError(t, anna, "Answer 2"); msg == "" {
				t.Fatalf("one question where two are required: no error at the second; the page says:\n%s", anna.Text(t))
			}
		}
		anna.Fill(t, "Question 1", questions[0][0])
		anna.Fill(t, "Answer 1", questions[0][1])
		anna.Fill(t, "Question 2", questions[1][0])
		anna.Fill(t, "Answer 2", questions[1][1])
		anna.Press(t, "Save questions")
		anna.Contains(t, "Your security questions have been saved.")
		anna.Press(t, "Sign out")
		signIn(t, anna, code, staff, password)
		wantOn(t, anna, "/ui/")
		if strings.Contains(anna.Text(t), "Please set up your account recovery") {
			t.Fatal("the prompt is still there after setting the questions")
		}
	})
	step(t, "7 the user changes the password in the security settings", func(t *testing.T) {
		anna.Follow(t, "Security settings")
		if strings.Contains(anna.URL(), "/ui/reauth") {
			anna.Fill(t, "Password", password)
			anna.Press(t, "Continue")
		}
		wantOn(t, anna, "/ui/settings")
		anna.Fill(t, "Current password", "Not-My-Password-1")
		newPasswordTwice(t, anna, "Zomer-In-Utrecht-27")
		anna.Press(t, "Change password")
		if msg, invalid := fieldError(t, anna, "Current password"); msg == "" || !invalid {
			t.Fatalf("a wrong current password: error %q (aria-invalid %v); the page says:\n%s", msg, invalid, anna.Text(t))
		}
		anna.Fill(t, "Current password", password)
		newPasswordTwice(t, anna, "Zomer-In-Utrecht-27")
		anna.Press(t, "Change password")
		anna.Contains(t, "Your password has been changed.")
		password = "Zomer-In-Utrecht-27"
		anna.Press(t, "Sign out")
	})
	step(t, "6 the sign-in page remembers company code and username; the session cookie is HttpOnly", func(t *testing.T) {
		wantOn(t, anna, "/ui/sign-in")
		if c, u := anna.Value(t, "Company code"), anna.Value(t, "Username"); c != code || u != staff {
			t.Fatalf("remembered %q %q, want %q %q", c, u, code, staff)
		}
		if anna.Value(t, "Password") != "" {
			t.Fatal("the password is filled in")
		}
		for _, c := range anna.Cookies(t) {
			if strings.Contains(c.Name, "session") && (!c.HTTPOnly || c.SameSite != "Lax") {
				t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Lax", c)
			}
		}
		var scriptCookies string
		anna.Eval(t, `document.cookie`, &scriptCookies)
		if strings.Contains(scriptCookies, "session") {
			t.Fatalf("page scripts read the session cookie: %q", scriptCookies)
		}
	})
	step(t, "8 forgot password: the e-mailed link, then the questions, then a new password", func(t *testing.T) {
		anna.Follow(t, "Forgot your password?")
		wantOn(t, anna, "/ui/forgot-password")
		if got := anna.Value(t, "Company code"); got != code {
			t.Fatalf("company code %q, want it carried over", got)
		}
		anna.Fill(t, "Username or e-mail address", staff)
		anna.Press(t, "Send me a link")
		anna.Contains(t, "an e-mail is on its way")
		anna.Open(t, linkIn(t, j.mailTo(staff, "Reset your Hometrak password"), "reset-password"))
		wantOn(t, anna, "/ui/reset-password")
		anna.Fill(t, questions[0][0], "someone else")
		anna.Fill(t, questions[1][0], "Kerkstraat")
		anna.Press(t, "Continue")
		anna.Contains(t, "not right")
		// Case and spaces do not matter.
		anna.Fill(t, questions[0][0], " mevrouw de groot ")
		anna.Fill(t, questions[1][0], "KERKSTRAAT")
		anna.Press(t, "Continue")
		password = "Herfst-In-Utrecht-28"
		newPasswordTwice(t, anna, password)
		anna.Press(t, "Set password")
		wantOn(t, anna, "/ui/sign-in")
		anna.Contains(t, "Your new password is set")
		anna.Fill(t, "Password", password)
		anna.Press(t, "Sign in")
		wantOn(t, anna, "/ui/")
	})
}

// newTenantWithLink creates a tenant whose first account (user, e-mail)
// is invited by e-mail link: the journey's person, who then lives in the
// pages.
func (j *journey) newTenantWithLink(prefix string, policy map[string]any, user, email string) string {
	j.t.Helper()
	code := uniqueCode(j.t, prefix)
	st, body := j.op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Tenant " + code, "policy": policy,
		"firstAdmin": map[string]any{"username": user, "email": email, "displayName": "First Admin", "activation": "EMAIL_LINK"}})
	if st != 200 {
		j.t.Fatalf("create tenant: %d %v", st, body)
	}
	return code
}

// J3 — administrators and self-service. The tenant speaks Dutch; its
// administrator (first log-in with a temporary password, then English)
// invites Kees, sets a new password for him, unlocks him after failed
// sign-ins, changes his login ID and sends him a reset link; Kees changes
// his password and sets a PIN in the security settings and resets a
// forgotten password by e-mail (by username and by e-mail address, an
// unknown one answered alike, a link used once); a portal contact cannot
// share an e-mail address. Two tabs: the admin and Kees.
func TestBrowserJourneyJ3_AdminAndSelfService(t *testing.T) {
	j, admin := browserJourney(t)
	kees := browsertest.New(t)
	kees.Check = uiPageCheck
	admin.Label, kees.Label = "admin", "kees"
	code := j.newTenant("timetrak", map[string]any{"brandName": "Timetrak", "locale": "nl-NL",
		"lockout": map[string]any{"maxFailedAttempts": 3, "lockoutMinutes": 0},
		"pin":     map[string]any{"enabled": true, "length": 4}}, "admin", "admin@timetrak.example")
	email := "kees@timetrak.example"
	password := "Gouden-Tulp-2026"
	lang := func(t *testing.T, p *browsertest.Page) string {
		var l string
		p.Eval(t, `document.documentElement.lang`, &l)
		return l
	}
	keesSignsIn := func(t *testing.T, user, password string) {
		t.Helper()
		kees.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, kees, code, user, password)
		wantOn(t, kees, "/ui/")
		kees.Press(t, "Sign out")
	}
	login := "kees"
	// onAccount opens Kees's account page in the admin area.
	onAccount := func(t *testing.T) {
		t.Helper()
		admin.Open(t, j.inst.HTTPURL+"/ui/admin")
		admin.Fill(t, "Search (name, username or e-mail)", "Kees")
		admin.Press(t, "Search")
		admin.Follow(t, login)
	}

	step(t, "the administrator's first log-in, in Dutch, then English", func(t *testing.T) {
		admin.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		if lang(t, admin) != "nl" {
			t.Fatalf("the tenant's sign-in page is in %q, want nl", lang(t, admin))
		}
		admin.Fill(t, "Gebruikersnaam", "admin")
		admin.Fill(t, "Wachtwoord", "Temporary-Pass-2026")
		admin.Press(t, "Aanmelden")
		wantOn(t, admin, "/ui/login/password")
		admin.Follow(t, "English")
		if lang(t, admin) != "en" {
			t.Fatalf("after choosing English the page is in %q", lang(t, admin))
		}
		newPasswordTwice(t, admin, adminPassword)
		admin.Press(t, "Set password")
		wantOn(t, admin, "/ui/")
	})
	step(t, "the administrator invites Kees; his link sets the first password, in Dutch", func(t *testing.T) {
		admin.Follow(t, "Administration")
		admin.Follow(t, "Invite")
		admin.Fill(t, "Username", "kees")
		admin.Fill(t, "E-mail address", email)
		admin.Fill(t, "Name", "Kees de Vries")
		admin.Press(t, "Invite")
		admin.Contains(t, "The account has been created.")
		kees.Open(t, linkIn(t, j.mailTo(email, "Activeer je Timetrak-account"), "activate"))
		wantOn(t, kees, "/ui/activate")
		if lang(t, kees) != "nl" {
			left(t, "the activation page is in %q, not the tenant's Dutch: the link carries only its token", lang(t, kees))
			kees.Follow(t, "Nederlands")
		}
		kees.Fill(t, "Nieuw wachtwoord", password)
		kees.Fill(t, "Nieuw wachtwoord nogmaals", password)
		kees.Press(t, "Activeren")
		wantOn(t, kees, "/ui/sign-in")
		kees.Follow(t, "English")
		keesSignsIn(t, "kees", password)
	})
	step(t, "1 the administrator sets a new password for Kees", func(t *testing.T) {
		onAccount(t)
		admin.Fill(t, "New password", "Zilveren-Molen-2027")
		admin.Tick(t, "Temporary: the user must change it at the next sign-in", false)
		admin.Press(t, "Set password")
		admin.Contains(t, "The password has been set.")
		password = "Zilveren-Molen-2027"
		keesSignsIn(t, "kees", password)
	})
	step(t, "1 the administrator unlocks Kees after failed sign-ins", func(t *testing.T) {
		kees.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		for range 3 {
			signIn(t, kees, code, "kees", "Not-The-Password-1")
		}
		signIn(t, kees, code, "kees", password)
		wantOn(t, kees, "/ui/sign-in")
		kees.Contains(t, "or your account is locked — see your e-mail")
		onAccount(t)
		admin.Contains(t, "Locked (too many failed sign-ins)")
		admin.Press(t, "Unlock")
		admin.Contains(t, "The account has been unlocked.")
		keesSignsIn(t, "kees", password)
	})
	step(t, "1 the administrator changes Kees's login ID", func(t *testing.T) {
		onAccount(t)
		admin.Fill(t, "New username", "kees.devries")
		admin.Press(t, "Change login ID")
		admin.Contains(t, "The login ID has been changed.")
		login = "kees.devries"
		keesSignsIn(t, "kees.devries", password)
	})
	step(t, "1 the administrator sends a reset link; Kees sets a new password", func(t *testing.T) {
		onAccount(t)
		admin.Press(t, "Send a password reset e-mail")
		admin.Contains(t, "A password reset e-mail has been sent.")
		kees.Open(t, linkIn(t, j.mailTo(email, "Stel je Timetrak-wachtwoord opnieuw in"), "reset-password"))
		password = "Koperen-Ketel-2027"
		newPasswordTwice(t, kees, password)
		kees.Press(t, "Set password")
		wantOn(t, kees, "/ui/sign-in")
		keesSignsIn(t, "kees.devries", password)
	})
	step(t, "2 Kees changes his password (current and new); 4 sets a PIN, unlocks his phone with it, changes it with the current PIN", func(t *testing.T) {
		kees.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, kees, code, "kees.devries", password)
		kees.Follow(t, "Security settings")
		kees.Fill(t, "Password", password)
		kees.Press(t, "Continue")
		wantOn(t, kees, "/ui/settings")
		kees.Fill(t, "Change password › Current password", password)
		password = "Bronzen-Brug-2028"
		newPasswordTwice(t, kees, password)
		kees.Press(t, "Change password")
		kees.Contains(t, "Your password has been changed.")
		kees.Fill(t, "PIN › Current password", password)
		kees.Fill(t, "New PIN", "12a4")
		kees.Fill(t, "New PIN again", "12a4")
		kees.Press(t, "Save PIN")
		if msg, invalid := fieldError(t, kees, "New PIN"); msg == "" || !invalid {
			t.Fatalf("a PIN with a letter: error %q (aria-invalid %v)", msg, invalid)
		}
		kees.Fill(t, "PIN › Current password", password)
		kees.Fill(t, "New PIN", "4821")
		kees.Fill(t, "New PIN again", "4821")
		kees.Press(t, "Save PIN")
		kees.Contains(t, "Your PIN has been saved.")
		// Kees's phone is the app, not the pages: it signs in with the
		// password once (REST, as the app does), then unlocks with the PIN.
		phone := j.anon
		st, body := phone.do("POST", "/v1/auth/login", map[string]any{"tenant": code, "username": "kees.devries", "password": password, "deviceName": "Kees's phone"})
		if st != 200 || body["deviceKey"] == nil {
			t.Fatalf("the phone's log-in: %d %v, want a device key", st, body)
		}
		device := body["deviceKey"].(string)
		unlock := func(pin string) int {
			st, _ := phone.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": device, "pin": pin})
			return st
		}
		if st := unlock("4821"); st != 200 {
			t.Fatalf("the phone unlocks with the PIN: %d", st)
		}
		// 4 he changes it by giving the current PIN (not the password).
		kees.Fill(t, "PIN › Current PIN", "1111")
		kees.Fill(t, "New PIN", "7350")
		kees.Fill(t, "New PIN again", "7350")
		kees.Press(t, "Save PIN")
		if msg, invalid := fieldError(t, kees, "Current PIN"); !strings.Contains(msg, "The PIN is wrong") || !invalid {
			t.Fatalf("a wrong current PIN: error %q (aria-invalid %v)", msg, invalid)
		}
		kees.Fill(t, "PIN › Current PIN", "4821")
		kees.Fill(t, "New PIN", "7350")
		kees.Fill(t, "New PIN again", "7350")
		kees.Press(t, "Save PIN")
		kees.Contains(t, "Your PIN has been saved.")
		if old, new := unlock("4821"), unlock("7350"); old != 401 || new != 200 {
			t.Fatalf("after the change the phone's old PIN answers %d (want 401), the new one %d (want 200)", old, new)
		}
		kees.Press(t, "Sign out")
	})
	var link string
	step(t, "3 a user who forgot it asks for the link by username", func(t *testing.T) {
		kees.Follow(t, "Forgot your password?")
		kees.Fill(t, "Company code", code)
		kees.Fill(t, "Username or e-mail address", "kees.devries")
		kees.Press(t, "Send me a link")
		kees.Contains(t, "an e-mail is on its way")
		link = linkIn(t, j.mailTo(email, "Stel je Timetrak-wachtwoord opnieuw in"), "reset-password")
		kees.Open(t, link)
		password = "Houten-Klomp-2029"
		newPasswordTwice(t, kees, password)
		kees.Press(t, "Set password")
		wantOn(t, kees, "/ui/sign-in")
		keesSignsIn(t, "kees.devries", password)
	})
	step(t, "3 the link a second time is refused", func(t *testing.T) {
		kees.Open(t, link)
		kees.Contains(t, "This link is not valid")
	})
	step(t, "5 asking by e-mail address works too; an unknown one looks the same", func(t *testing.T) {
		kees.Open(t, j.inst.HTTPURL+"/ui/forgot-password?tenant="+code)
		kees.Fill(t, "Username or e-mail address", "nobody@timetrak.example")
		kees.Press(t, "Send me a link")
		unknown := kees.Text(t)
		kees.Open(t, j.inst.HTTPURL+"/ui/forgot-password?tenant="+code)
		kees.Fill(t, "Username or e-mail address", email)
		kees.Press(t, "Send me a link")
		if known := kees.Text(t); known != unknown {
			t.Fatalf("the answer tells accounts apart:\n%s\n---\n%s", known, unknown)
		}
		kees.Open(t, linkIn(t, j.mailTo(email, "Stel je Timetrak-wachtwoord opnieuw in"), "reset-password"))
		password = "Stenen-Trap-2030"
		newPasswordTwice(t, kees, password)
		kees.Press(t, "Set password")
		keesSignsIn(t, "kees.devries", password)
	})
	step(t, "5 two portal contacts may not share an e-mail address", func(t *testing.T) {
		invite := func(user string) {
			admin.Open(t, j.inst.HTTPURL+"/ui/admin/invite")
			admin.Fill(t, "Username", user)
			admin.Fill(t, "E-mail address", "portal@client.example")
			admin.Fill(t, "Name", "Portal contact "+user)
			admin.Tick(t, "Staff", false)
			admin.Tick(t, "Client", true)
			admin.Press(t, "Invite")
		}
		invite("client.one")
		admin.Contains(t, "The account has been created.", "Client")
		invite("client.two")
		wantOn(t, admin, "/ui/admin/invite")
		if msg, invalid := fieldError(t, admin, "E-mail address"); msg == "" || !invalid {
			t.Fatalf("a second contact with the same e-mail: error %q (aria-invalid %v); the page says:\n%s", msg, invalid, admin.Text(t))
		}
	})
}

// J4 — key, password and code: the key by e-mail (QR), then the password
// link, whose page asks the current code before the new password; log-in
// takes the code; a code already used does not work, one step of clock
// skew does.
func TestBrowserJourneyJ4_KeyThenPasswordThenCode(t *testing.T) {
	j, p := browserJourney(t)
	user, email := "d.bakker", "d.bakker@track.example"
	code := j.newTenantWithLink("track", map[string]any{"brandName": "Track Portal",
		"password": map[string]any{"minLength": 8, "minUppercase": 2, "minDigits": 2},
		"mfa":      map[string]any{"required": true, "allowedSkewSteps": 1},
		"recovery": map[string]any{"emailLink": true, "resetRequiresMfa": true}}, user, email)
	j.mailTo(email, "Activate") // J4's user takes the other way in
	var secret, password string

	step(t, "1 the key by e-mail, as a QR code and as text", func(t *testing.T) {
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		p.Follow(t, "Request an authenticator key")
		wantOn(t, p, "/ui/request-key")
		p.Fill(t, "Username or e-mail address", user)
		p.Press(t, "Send me the key")
		p.Contains(t, "an e-mail is on its way")
		m := j.mailTo(email, "authenticator key")
		png := m.Images["qr.png"]
		if png == nil {
			t.Fatalf("no inline QR code (images %d)", len(m.Images))
		}
		secret = secretOf(t, qr.Decode(t, png))
		if !strings.Contains(strings.ReplaceAll(m.Text, " ", ""), secret) {
			t.Fatalf("the key as text is not the QR code's %s:\n%s", secret, m.Text)
		}
	})
	var link string
	step(t, "2 the password link arrives in a second e-mail", func(t *testing.T) {
		p.Follow(t, "Back to sign in")
		p.Follow(t, "Forgot your password?")
		p.Fill(t, "Username or e-mail address", email)
		p.Press(t, "Send me a link")
		link = linkIn(t, j.mailTo(email, "Reset your Track Portal password"), "reset-password")
	})
	step(t, "3 the link's page asks the code first, then the new password twice", func(t *testing.T) {
		p.Open(t, link)
		wantOn(t, p, "/ui/reset-password")
		var autocomplete string
		p.Eval(t, `document.querySelector('input[name=code]').autocomplete`, &autocomplete)
		if autocomplete != "one-time-code" {
			t.Errorf("code field autocomplete %q, want one-time-code", autocomplete)
		}
		p.Fill(t, "Six-digit code", "000000")
		p.Press(t, "Continue")
		p.Contains(t, "not right")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		p.Contains(t, "at least 2 uppercase", "at least 2 digit")
		newPasswordTwice(t, p, "Onlyone-upper-12")
		p.Press(t, "Set password")
		if msg, _ := fieldError(t, p, "New password"); !strings.Contains(msg, "uppercase") {
			t.Fatalf("one uppercase letter: error %q, want the uppercase rule", msg)
		}
		password = "Two-Uppers-In-Here-12"
		newPasswordTwice(t, p, password)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/sign-in")
		p.Contains(t, "Your new password is set")
	})
	step(t, "4 log-in takes the password and the current code; a used code does not work, one step behind does", func(t *testing.T) {
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/login/code")
		used := j.code(secret)
		p.Fill(t, "Six-digit code", used)
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
		p.Press(t, "Sign out")

		signIn(t, p, code, user, password)
		p.Fill(t, "Six-digit code", used)
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/code")
		if msg, invalid := fieldError(t, p, "Six-digit code"); msg == "" || !invalid {
			t.Fatalf("a used code: error %q (aria-invalid %v) next to the field", msg, invalid)
		}
		// The phone's clock one step behind: the code of the step before now.
		j.clk.Advance(60 * time.Second)
		p.Fill(t, "Six-digit code", totpAt(t, secret, j.clk.Now().Add(-30*time.Second)))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
		// Two steps ahead is too far.
		p.Press(t, "Sign out")
		signIn(t, p, code, user, password)
		p.Fill(t, "Six-digit code", totpAt(t, secret, j.clk.Now().Add(60*time.Second)))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/code")
	})
}

// J2 — helpdesk account under a strict policy: the first log-in with the
// temporary password accepts the terms (text and version shown), then
// replaces the password (the rules shown, a weak one refused); every
// log-in then carries the prompt to set a recovery question.
func TestBrowserJourneyJ2_HelpdeskStrictPolicy(t *testing.T) {
	j, p := browserJourney(t)
	helpdesk := browsertest.New(t)
	helpdesk.Check = uiPageCheck
	p.Label, helpdesk.Label = "user", "helpdesk"
	user, email := "m.devries", "m.devries@eshc.example"
	code := j.newTenant("eshc", map[string]any{
		"brandName":          "Clienttrack",
		"password":           map[string]any{"minLength": 8, "minUppercase": 1, "minDigits": 1, "minSymbols": 1, "maxAgeDays": 90, "historyCount": 6},
		"lockout":            map[string]any{"maxFailedAttempts": 5, "lockoutMinutes": 0},
		"inactivityLockDays": 10, "termsRequired": true,
		"recovery": map[string]any{"emailLink": true, "securityQuestions": true, "securityQuestionsRequired": 1},
	}, "helpdesk", "helpdesk@eshc.example")
	password := "Tulpen&Molens7"

	step(t, "1 the helpdesk publishes the terms and creates the account with a temporary password", func(t *testing.T) {
		helpdesk.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, helpdesk, code, "helpdesk", "Temporary-Pass-2026")
		wantOn(t, helpdesk, "/ui/login/password")
		newPasswordTwice(t, helpdesk, adminPassword)
		helpdesk.Press(t, "Set password")
		wantOn(t, helpdesk, "/ui/")
		helpdesk.Follow(t, "Administration")
		helpdesk.Follow(t, "Terms")
		helpdesk.Fill(t, "Version", "2026-12")
		helpdesk.Fill(t, "Text", "Terms of use of Clienttrack: be kind to the data.")
		helpdesk.Press(t, "Publish")
		helpdesk.Contains(t, "The terms have been published.", "2026-12")
		helpdesk.Follow(t, "Invite")
		helpdesk.Fill(t, "Username", user)
		helpdesk.Fill(t, "E-mail address", email)
		helpdesk.Fill(t, "Name", "Marije de Vries")
		helpdesk.Choose(t, "Activation", "Give a temporary password")
		helpdesk.Fill(t, "Temporary password", "Welcome!2026x")
		helpdesk.Press(t, "Invite")
		helpdesk.Contains(t, "The account has been created.", "Marije de Vries", "Staff", "Active")
	})
	step(t, "2 first log-in: the terms, then a new password", func(t *testing.T) {
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, p, code, user, "Welcome!2026x")
		wantOn(t, p, "/ui/login/terms")
		p.Contains(t, "Version 2026-12", "be kind to the data")
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/terms")
		if msg, invalid := fieldError(t, p, "I accept these terms"); !strings.Contains(msg, "Tick the box") || !invalid {
			t.Fatalf("terms not ticked: error %q (aria-invalid %v) next to the box", msg, invalid)
		}
		p.Tick(t, "I accept these terms", true)
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/password")
		p.Contains(t, "at least 8 characters", "at least 1 uppercase", "at least 1 digit", "at least 1 symbol", "to differ from your last 6 passwords")
		p.Fill(t, "New password", "alllowercase")
		if met, all := rulesMet(t, p); all != 4 || met != 1 {
			t.Fatalf("rules ticked for %q: %d of %d, want the length only", "alllowercase", met, all)
		}
		p.Fill(t, "New password again", "alllowercase")
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/login/password")
		if msg, invalid := fieldError(t, p, "New password"); msg == "" || !invalid {
			t.Fatalf("a weak password: error %q (aria-invalid %v)", msg, invalid)
		}
		p.Fill(t, "New password", password)
		if met, all := rulesMet(t, p); met != all {
			t.Fatalf("rules ticked for a good password: %d of %d", met, all)
		}
		p.Fill(t, "New password again", password)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/")
	})
	step(t, "3 every log-in carries the prompt until a question is set; the user types their own", func(t *testing.T) {
		p.Contains(t, "Please set up your account recovery")
		p.Press(t, "Sign out")
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/")
		p.Contains(t, "Please set up your account recovery")
		p.Follow(t, "Security settings")
		p.Fill(t, "Password", password)
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/settings")
		p.Fill(t, "Question 1", "Naam van mijn eerste huisdier?")
		p.Fill(t, "Answer 1", "Bello")
		p.Press(t, "Save questions")
		p.Contains(t, "Your security questions have been saved.")
		p.Press(t, "Sign out")
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/")
		if strings.Contains(p.Text(t), "Please set up your account recovery") {
			t.Fatal("the prompt is still there after setting the question")
		}
	})
	var secret string
	step(t, "4 security settings ask the password again; then a new password and two-step verification", func(t *testing.T) {
		p.Follow(t, "Security settings")
		wantOn(t, p, "/ui/reauth")
		p.Fill(t, "Password", "Not-My-Password-1!")
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/reauth")
		p.Fill(t, "Password", password)
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/settings")
		p.Fill(t, "Change password › Current password", password)
		previous := password
		password = "Molens&Tulpen8"
		newPasswordTwice(t, p, password)
		p.Press(t, "Change password")
		p.Contains(t, "Your password has been changed.")
		// 5 a password used in the last 6 changes is refused.
		p.Fill(t, "Change password › Current password", password)
		newPasswordTwice(t, p, previous)
		p.Press(t, "Change password")
		if msg, invalid := fieldError(t, p, "New password"); !strings.Contains(msg, "used this password recently") || !invalid {
			t.Fatalf("a password of the last 6: error %q (aria-invalid %v)", msg, invalid)
		}
		p.Press(t, "Turn on two-step verification")
		var img struct {
			Src string `json:"src"`
			Key string `json:"key"`
		}
		p.Eval(t, `(() => { const i = document.querySelector('img.qr'); return {src: i ? i.src : '',
			key: (document.getElementById('enroll-key') || {}).textContent || ''}; })()`, &img)
		png, ok := strings.CutPrefix(img.Src, "data:image/png;base64,")
		if !ok {
			t.Fatalf("QR image %.60q: want a data: PNG", img.Src)
		}
		secret = secretOf(t, qr.Decode(t, decodeB64(t, png)))
		if strings.ReplaceAll(img.Key, " ", "") != secret {
			t.Fatalf("the key as text %q is not the QR code's %s", img.Key, secret)
		}
		p.Fill(t, "Code from the app", "000000")
		p.Press(t, "Turn on")
		p.Contains(t, "That code is not right")
		p.Fill(t, "Code from the app", j.code(secret))
		p.Press(t, "Turn on")
		p.Contains(t, "Your recovery codes")
		p.Press(t, "I saved them")
		p.Contains(t, "On: you sign in with your password and a code")
		p.Press(t, "Sign out")
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/login/code")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
	})
	step(t, "4 the recovery question is changed in the security settings", func(t *testing.T) {
		p.Follow(t, "Security settings")
		p.Fill(t, "Password", password)
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/settings")
		p.Fill(t, "Question 1", "Naam van mijn eerste huisdier?")
		p.Fill(t, "Answer 1", "Rex")
		p.Press(t, "Save questions")
		p.Contains(t, "Your security questions have been saved.")
		p.Press(t, "Sign out")
	})
	step(t, "7 forgot password: the e-mailed link, the code and the question, then a new password", func(t *testing.T) {
		p.Follow(t, "Forgot your password?")
		p.Fill(t, "Username or e-mail address", email)
		p.Press(t, "Send me a link")
		p.Open(t, linkIn(t, j.mailTo(email, "Reset your Clienttrack password"), "reset-password"))
		wantOn(t, p, "/ui/reset-password")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Fill(t, "Naam van mijn eerste huisdier?", "Bello")
		p.Press(t, "Continue")
		p.Contains(t, "not right")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Fill(t, "Naam van mijn eerste huisdier?", "rex")
		p.Press(t, "Continue")
		password = "Nieuw&Wachtwoord8"
		newPasswordTwice(t, p, password)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/sign-in")
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/login/code") // a reset never turns two-step verification off
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
		p.Press(t, "Sign out")
	})
	step(t, "5 after 90 days the password must be changed at sign-in; one of the last 6 is refused", func(t *testing.T) {
		j.clk.Advance(91 * 24 * time.Hour)
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/login/code")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/password")
		for _, recent := range []string{password, "Molens&Tulpen8", "Tulpen&Molens7"} {
			newPasswordTwice(t, p, recent)
			p.Press(t, "Set password")
			wantOn(t, p, "/ui/login/password")
			if msg, invalid := fieldError(t, p, "New password"); !strings.Contains(msg, "used this password recently") || !invalid {
				t.Fatalf("%q, one of the last 6: error %q (aria-invalid %v)", recent, msg, invalid)
			}
		}
		password = "Zomer&Winter9"
		newPasswordTwice(t, p, password)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/")
		p.Press(t, "Sign out")
	})
	step(t, "6 after 10 days without sign-in the account locks; the helpdesk reactivates it", func(t *testing.T) {
		j.clk.Advance(11 * 24 * time.Hour)
		// The helpdesk signs in first (the terms it published, and its own
		// password has expired too), so the sweep finds only the user idle.
		helpdesk.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, helpdesk, code, "helpdesk", adminPassword)
		wantOn(t, helpdesk, "/ui/login/terms")
		helpdesk.Tick(t, "I accept these terms", true)
		helpdesk.Press(t, "Continue")
		wantOn(t, helpdesk, "/ui/login/password")
		newPasswordTwice(t, helpdesk, "Balie&Dienst2027")
		helpdesk.Press(t, "Set password")
		wantOn(t, helpdesk, "/ui/")
		desk := j.op.asTenant(code)
		for i := 0; ; i++ { // the log-in reaches the account service as an event
			_, body := desk.do("GET", "/v1/admin/accounts?filter=helpdesk", nil)
			var last time.Time
			if found := items(body, "accounts"); len(found) == 1 {
				last, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(found[0].(map[string]any)["lastLoginTime"]))
			}
			if !last.Before(j.clk.Now().Add(-time.Hour)) {
				break
			}
			if i == 250 {
				t.Fatalf("the helpdesk's sign-in never reached its account: %v", body)
			}
			timeSleep()
		}
		if n := sweepInactive(t, j.inst); n != 1 {
			t.Fatalf("the sweep after 11 idle days locked %d accounts, want the user's alone", n)
		}
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/sign-in")
		p.Contains(t, "or your account is locked — see your e-mail")
		helpdesk.Follow(t, "Administration")
		helpdesk.Fill(t, "Search (name, username or e-mail)", "Marije")
		helpdesk.Press(t, "Search")
		helpdesk.Follow(t, user)
		helpdesk.Contains(t, "Locked (inactivity)")
		helpdesk.Press(t, "Reactivate")
		helpdesk.Contains(t, "The account has been reactivated.", "Active")
		signIn(t, p, code, user, password)
		wantOn(t, p, "/ui/login/code")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
	})
}

// A tenant that requires two-step verification: the first log-in replaces
// the temporary password, then enrols an authenticator (the QR code on the
// page and the key as text are the same secret), shows the recovery codes
// once; the next log-in asks the code, and a recovery code works once.
func TestBrowser_EnrolAtFirstLogIn_RecoveryCodeOnce(t *testing.T) {
	j, p := browserJourney(t)
	code := j.newTenant("mfa", map[string]any{"brandName": "Track Portal", "mfa": map[string]any{"required": true}}, "admin", "admin@mfa.example")
	var secret string
	var codes []string

	step(t, "the first log-in: a new password, then the authenticator", func(t *testing.T) {
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, p, code, "admin", "Temporary-Pass-2026")
		wantOn(t, p, "/ui/login/password")
		newPasswordTwice(t, p, adminPassword)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/login/enroll")
		p.Press(t, "Start")
		var img struct {
			Src string `json:"src"`
			Alt string `json:"alt"`
			Key string `json:"key"`
		}
		p.Eval(t, `(() => { const i = document.querySelector('img.qr'); return {src: i ? i.src : '', alt: i ? i.alt : '',
			key: (document.getElementById('enroll-key') || {}).textContent || ''}; })()`, &img)
		png, ok := strings.CutPrefix(img.Src, "data:image/png;base64,")
		if !ok || img.Alt == "" {
			t.Fatalf("QR image %.60q alt %q: want a data: PNG with a text alternative", img.Src, img.Alt)
		}
		secret = secretOf(t, qr.Decode(t, decodeB64(t, png)))
		if strings.ReplaceAll(img.Key, " ", "") != secret {
			t.Fatalf("the key as text %q is not the QR code's %s", img.Key, secret)
		}
		p.Fill(t, "Six-digit code", "000000")
		p.Press(t, "Confirm")
		wantOn(t, p, "/ui/login/enroll")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Confirm")
		p.Contains(t, "Your recovery codes", "They are shown only now")
		p.Eval(t, `[...document.querySelectorAll('ul.codes code')].map(c => c.textContent)`, &codes)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes, want 10", len(codes))
		}
		p.Press(t, "I saved them")
		wantOn(t, p, "/ui/")
		p.Press(t, "Sign out")
	})
	step(t, "the next log-in asks the code; a recovery code works once", func(t *testing.T) {
		signIn(t, p, code, "admin", adminPassword)
		wantOn(t, p, "/ui/login/code")
		p.Eval(t, `document.querySelector('details').open = true`, nil)
		p.Fill(t, "Recovery code", codes[0])
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
		p.Press(t, "Sign out")
		signIn(t, p, code, "admin", adminPassword)
		p.Eval(t, `document.querySelector('details').open = true`, nil)
		p.Fill(t, "Recovery code", codes[0])
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/login/code")
		p.Fill(t, "Six-digit code", j.code(secret))
		p.Press(t, "Continue")
		wantOn(t, p, "/ui/")
	})
}

// The pages people open on a phone work at 320 CSS pixels wide: nothing
// needs sideways scrolling, and axe-core passes there too.
func TestBrowser_Narrow320(t *testing.T) {
	j, p := browserJourney(t)
	code := j.newTenant("narrow", map[string]any{"brandName": "Track Portal", "password": map[string]any{"minLength": 12, "minDigits": 2, "minSymbols": 1}}, "admin", "admin@narrow.example")
	if !p.Viewport(t, 320, 640) {
		t.Log("the blank page is wider than 320 px?")
	}
	check := func(t *testing.T) {
		t.Helper()
		var fits bool
		p.Eval(t, `document.documentElement.scrollWidth <= window.innerWidth`, &fits)
		if !fits {
			var w int
			p.Eval(t, `document.documentElement.scrollWidth`, &w)
			t.Errorf("%s is %d px wide at a 320 px screen", p.URL(), w)
		}
	}
	for _, path := range []string{"/ui/sign-in?tenant=" + code, "/ui/forgot-password?tenant=" + code, "/ui/request-key?tenant=" + code} {
		p.Open(t, j.inst.HTTPURL+path)
		check(t)
	}
	p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
	signIn(t, p, code, "admin", "Temporary-Pass-2026")
	wantOn(t, p, "/ui/login/password")
	check(t)
	newPasswordTwice(t, p, adminPassword)
	p.Press(t, "Set password")
	wantOn(t, p, "/ui/")
	check(t)
	p.Follow(t, "Administration")
	check(t)
	p.Open(t, j.inst.HTTPURL+"/ui/settings")
	if strings.Contains(p.URL(), "/ui/reauth") {
		check(t)
		p.Fill(t, "Password", adminPassword)
		p.Press(t, "Continue")
	}
	wantOn(t, p, "/ui/settings")
	check(t)
}

// The keyboard alone gets through the sign-in page in reading order, the
// focus always visible; and the pages work with JavaScript off.
func TestBrowser_KeyboardAndWithoutJavaScript(t *testing.T) {
	j, p := browserJourney(t)
	code := j.newTenant("keys", map[string]any{"brandName": "Timetrak"}, "admin", "admin@keys.example")

	step(t, "Tab goes through the sign-in page in reading order, the focus visible", func(t *testing.T) {
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		var order []string
		for range 11 {
			f := p.Tab(t)
			if f.Tag == "BODY" {
				break
			}
			if !f.Visible {
				t.Errorf("the focus on %s %q cannot be seen", f.Tag, f.Name)
			}
			order = append(order, f.Name)
		}
		t.Logf("focus order: %q", order)
		if len(order) == 0 || order[0] != "Skip to content" {
			t.Fatalf("focus order %q: want the skip link first", order)
		}
		want := []string{"Company code", "Username", "Password", "Remember company code and username", "Sign in", "Forgot your password?", "Request an authenticator key"}
		at := 0
		for _, name := range order {
			if at < len(want) && name == want[at] {
				at++
			}
		}
		if at != len(want) {
			t.Fatalf("focus order %q: want %q in that order", order, want)
		}
	})
	step(t, "with JavaScript off: sign-in, the new password, the landing page", func(t *testing.T) {
		p.ScriptsOff(t, true)
		p.Open(t, j.inst.HTTPURL+"/ui/sign-in?tenant="+code)
		signIn(t, p, code, "admin", "Temporary-Pass-2026")
		wantOn(t, p, "/ui/login/password")
		newPasswordTwice(t, p, "short")
		p.Press(t, "Set password")
		if msg, _ := fieldError(t, p, "New password"); msg == "" {
			t.Fatal("a short password: no error at the field without JavaScript")
		}
		newPasswordTwice(t, p, adminPassword)
		p.Press(t, "Set password")
		wantOn(t, p, "/ui/")
		p.Contains(t, "You are signed in")
		p.ScriptsOff(t, false)
	})
}
