package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// walkedPage reaches one page the pages serve: a session to start from,
// then a GET (or a POST whose answer is a page, such as the recovery
// codes).
type walkedPage struct {
	name    string
	session *Session
	get     string
	post    string // action, posted with the session's CSRF token
	form    url.Values
}

// walkedPages is every page (and form) served; a new page adds itself
// here, and TestWalk_EveryPage fails on a registered route not reached.
func walkedPages() []walkedPage {
	ticket := func(step string) *Session {
		return &Session{Tenant: "acme", Username: "ann", Ticket: "tk", Step: step,
			Rules: &Rules{MinLength: 8, MinUppercase: 1, MinDigits: 1, HistoryCount: 6}}
	}
	enrolling := ticket(stepEnroll)
	enrolling.Enroll = &Enrollment{Secret: "JBSWY3DPEHPK3PXP", QR: []byte("\x89PNG fake")}
	stepped := signedIn()
	stepped.Reauth, stepped.ReauthExp = "fresh", time.Now().Add(5*time.Minute).Unix()
	steppedTOTP := signedIn()
	steppedTOTP.Access = "acc-totp"
	steppedTOTP.Reauth, steppedTOTP.ReauthExp = stepped.Reauth, stepped.ReauthExp
	settingsEnrolling := signedIn()
	settingsEnrolling.Reauth, settingsEnrolling.ReauthExp = stepped.Reauth, stepped.ReauthExp
	settingsEnrolling.Enroll = &Enrollment{Secret: "JBSWY3DPEHPK3PXP", QR: []byte("\x89PNG fake")}
	return []walkedPage{
		{name: "home", session: signedIn(), get: "/ui/"},
		{name: "sign-in", get: "/ui/sign-in"},
		{name: "code", session: ticket(stepMFA), get: "/ui/login/code"},
		{name: "terms", session: ticket(stepTerms), get: "/ui/login/terms"},
		{name: "new password", session: ticket(stepPassword), get: "/ui/login/password"},
		{name: "enroll intro", session: ticket(stepEnroll), get: "/ui/login/enroll"},
		{name: "enroll started", session: enrolling, get: "/ui/login/enroll"},
		{name: "recovery codes", session: enrolling, post: "/ui/login/enroll", form: url.Values{"code": {"123456"}}},
		{name: "reauth", session: signedIn(), get: "/ui/reauth"},
		{name: "activate", session: &Session{LinkToken: "lt", LinkKind: linkActivate}, get: "/ui/activate"},
		{name: "forgot", get: "/ui/forgot-password?tenant=acme"},
		{name: "forgot sent", post: "/ui/forgot-password", form: url.Values{"tenant": {"acme"}, "login": {"ann"}}},
		{name: "reset proof", session: &Session{LinkToken: "needs-proof", LinkKind: linkReset}, get: "/ui/reset-password"},
		{name: "reset password", session: &Session{LinkToken: "lt", LinkKind: linkReset}, get: "/ui/reset-password"},
		{name: "request key", get: "/ui/request-key"},
		{name: "key sent", post: "/ui/request-key", form: url.Values{"tenant": {"acme"}, "login": {"ann"}}},
		{name: "link gone", get: "/ui/activate"},
		{name: "not found", get: "/ui/no-such-page"},
		{name: "step-up page", session: stepped, get: "/ui/"},
		// Security settings (settings.go): TOTP off, then on ("acc-totp").
		{name: "settings", session: stepped, get: "/ui/settings"},
		{name: "settings with TOTP", session: steppedTOTP, get: "/ui/settings"},
		{name: "settings enrolment", session: stepped, post: "/ui/settings/mfa/enroll"},
		{name: "settings enrolment again", session: settingsEnrolling, get: "/ui/settings/mfa/confirm"},
		{name: "settings recovery codes", session: steppedTOTP, post: "/ui/settings/mfa/codes"},
		// The admin area (admin.go); walkBackend makes everyone an ADMIN.
		{name: "admin accounts", session: signedIn(), get: "/ui/admin?filter=bob"},
		{name: "admin account", session: signedIn(), get: "/ui/admin/accounts/acc-1"},
		{name: "admin invite", session: signedIn(), get: "/ui/admin/invite"},
		{name: "admin import", session: signedIn(), get: "/ui/admin/import"},
		{name: "admin policy", session: signedIn(), get: "/ui/admin/policy"},
		{name: "admin terms", session: signedIn(), get: "/ui/admin/terms"},
	}
}

var (
	formRE   = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	methodRE = regexp.MustCompile(`method="([a-z]+)"`)
	actionRE = regexp.MustCompile(`action="([^"]+)"`)
	inlineRE = regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle="|\son[a-z]+="`)
)

// walkBackend answers every call the walked pages make.
func walkBackend(ts *testServer) {
	// Every signed-in walker is an ADMIN; the token "acc-totp" has TOTP.
	ts.api.roles = []accountv1.Role_Value{accountv1.Role_ADMIN}
	ts.api.questions = 2
	ts.api.accounts = []*accountv1.Account{ts.api.account}
	ts.api.next = "page-2"
	ts.api.totpToken = "acc-totp"
	ts.f.me = func(ctx context.Context) (*accountv1.GetMeResponse, error) {
		return fAccount{f: ts.api}.GetMe(ctx, &accountv1.GetMeRequest{})
	}
	ts.f.appearance = &accountv1.GetAppearanceResponse{Code: "acme", BrandName: "Acme", Locale: "en", PinEnabled: true,
		PasswordRules: &credentialv1.PasswordRules{MinLength: 8}}
	ts.f.cont = func(in *credentialv1.ContinueLoginRequest) (*credentialv1.ContinueLoginResponse, error) {
		return &credentialv1.ContinueLoginResponse{AccessToken: "acc", RefreshToken: "ref", ExpiresIn: 300, RecoveryCodes: []string{"aaaa-bbbb", "cccc-dddd"}}, nil
	}
	ts.f.inspect = func(in *recoveryv1.InspectPasswordResetRequest) (*recoveryv1.InspectPasswordResetResponse, error) {
		out := &recoveryv1.InspectPasswordResetResponse{PasswordRules: &credentialv1.PasswordRules{MinLength: 8}}
		if in.GetToken() == "needs-proof" {
			out.Requires = []recoveryv1.ResetRequirement_Value{recoveryv1.ResetRequirement_TOTP_CODE, recoveryv1.ResetRequirement_SECURITY_ANSWERS}
			out.Questions = []string{"First pet?"}
		}
		return out, nil
	}
}

// TestWalk_EveryPage walks every page and form: each answer carries the
// security headers, each POST form its CSRF field, no page has inline
// script or style, and every POST route refuses a post without the token
// (403). It fails on a registered route that no walked page reaches.
func TestWalk_EveryPage(t *testing.T) {
	ts := newTestServer(t)
	walkBackend(ts)
	gets, posts := map[string]bool{}, map[string]bool{}
	for _, wp := range walkedPages() {
		t.Run(wp.name, func(t *testing.T) {
			b := ts.browser()
			if wp.session != nil {
				b.setSession(wp.session)
			} else {
				b.get("/ui/sign-in") // any page starts a session
			}
			var p page
			if wp.get != "" {
				p = b.get(wp.get)
				u, _ := url.Parse(wp.get)
				gets[u.Path] = true
			} else {
				form := url.Values{}
				for k, v := range wp.form {
					form[k] = v
				}
				form.Set(CSRFField, b.session().CSRF)
				p = b.post(wp.post, form)
				posts[wp.post] = true
			}
			if p.StatusCode >= 300 && p.StatusCode < 400 {
				t.Fatalf("%s: redirected to %s; the walk wants the page itself", wp.name, p.Header.Get("Location"))
			}
			checkHeaders(t, p)
			if strings.Contains(p.Body, ">reason.") || strings.Contains(p.Body, ">field.") {
				t.Errorf("an untranslated key in\n%s", p.Body)
			}
			if m := inlineRE.FindString(p.Body); m != "" {
				t.Errorf("inline script or style %q in\n%s", m, p.Body)
			}
			for _, f := range formRE.FindAllStringSubmatch(p.Body, -1) {
				m := methodRE.FindStringSubmatch(f[1])
				if m == nil || m[1] != "post" {
					continue
				}
				action := actionRE.FindStringSubmatch(f[1])
				if action == nil {
					t.Errorf("a form without an action in %s", wp.name)
					continue
				}
				if !strings.Contains(f[2], `name="csrf" value="`+b.session().CSRF+`"`) {
					t.Errorf("form to %s has no CSRF field with the session's token:\n%s", action[1], f[0])
				}
				posts[action[1]] = true
				// The same post without the token is refused.
				refused := b.post(action[1], url.Values{"x": {"1"}})
				if refused.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s without CSRF: status %d, want 403", action[1], refused.StatusCode)
				}
				checkHeaders(t, refused)
			}
		})
	}
	s, _ := New(Config{SessionKeys: ts.ring})
	for _, pat := range s.patterns {
		method, path, _ := strings.Cut(pat, " ")
		path = strings.TrimSuffix(path, "{$}")
		switch method {
		case http.MethodGet:
			if !reached(gets, path) {
				t.Errorf("GET %s is served but not walked: add it to walkedPages", path)
			}
		case http.MethodPost:
			if !reached(posts, path) {
				t.Errorf("POST %s is served but no walked page has a form posting to it", path)
			}
		}
	}
}

// reached reports whether a walked path matches a route's path, whose
// wildcards ({id}, {rest...}) match any segment(s).
func reached(paths map[string]bool, route string) bool {
	if paths[route] {
		return true
	}
	var re strings.Builder
	re.WriteString("^")
	last := 0
	for _, m := range wildcardRE.FindAllStringSubmatchIndex(route, -1) {
		re.WriteString(regexp.QuoteMeta(route[last:m[0]]))
		if m[2] >= 0 {
			re.WriteString(".+")
		} else {
			re.WriteString("[^/]+")
		}
		last = m[1]
	}
	re.WriteString(regexp.QuoteMeta(route[last:]) + "$")
	match := regexp.MustCompile(re.String())
	for p := range paths {
		if match.MatchString(p) {
			return true
		}
	}
	return false
}

var wildcardRE = regexp.MustCompile(`\{[A-Za-z_]+(\.\.\.)?\}`)

// checkHeaders fails on a missing security header.
func checkHeaders(t *testing.T, p page) {
	t.Helper()
	for k, v := range SecurityHeaders {
		if got := p.Header.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", p.Request.Method, p.Request.URL.Path, k, got, v)
		}
	}
	if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") && p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q, want no-store", p.Request.Method, p.Request.URL.Path, p.Header.Get("Cache-Control"))
	}
}
