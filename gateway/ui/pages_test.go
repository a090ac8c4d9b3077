package ui

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/keyring"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/":                      "/ui/",
		"/ui/settings?tab=pin":      "/ui/settings?tab=pin",
		"":                          "",
		"https://evil.example/ui/":  "",
		"//evil.example/ui/":        "",
		"/\\evil.example":           "",
		"/v1/me":                    "",
		"/ui/../v1/me":              "",
		"javascript:alert(1)":       "",
		"/ui/\r\nSet-Cookie: x=y":   "",
		"ui/relative":               "",
		"https:/ui/":                "",
		"/ui/x#frag":                "/ui/x",
		"http://127.0.0.1:8080/ui/": "",
	} {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPost_WithoutCSRF_Forbidden(t *testing.T) {
	ts := newTestServer(t)
	ts.f.login = func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		t.Fatal("Login called without a CSRF token")
		return nil, nil
	}
	b := ts.browser()
	b.get("/ui/sign-in")
	form := url.Values{"tenant": {"acme"}, "username": {"ann"}, "password": {"pw"}}
	p := b.post("/ui/sign-in", form)
	wantStatus(t, p, http.StatusForbidden)
	form.Set(CSRFField, "not-the-token")
	wantStatus(t, b.post("/ui/sign-in", form), http.StatusForbidden)
	// No session cookie at all: refused too, whatever token is sent.
	fresh := ts.browser()
	wantStatus(t, fresh.post("/ui/sign-in", form), http.StatusForbidden)
}

func TestSignIn_Steps_ToLandingPage(t *testing.T) {
	ts := newTestServer(t)
	ts.f.login = func(in *credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		return &credentialv1.LoginResponse{NextStep: credentialv1.LoginStep_MFA, LoginTicket: "t1"}, nil
	}
	var answers []string
	ts.f.cont = func(in *credentialv1.ContinueLoginRequest) (*credentialv1.ContinueLoginResponse, error) {
		switch a := in.GetAnswer().(type) {
		case *credentialv1.ContinueLoginRequest_TotpCode:
			answers = append(answers, "code:"+a.TotpCode)
			if in.GetLoginTicket() == "t1" {
				if a.TotpCode != "123456" {
					return nil, grpcErr(errs.Unauthenticated("MFA_CODE_INVALID", "wrong"))
				}
				return &credentialv1.ContinueLoginResponse{NextStep: credentialv1.LoginStep_ACCEPT_TERMS, LoginTicket: "t2"}, nil
			}
			return &credentialv1.ContinueLoginResponse{AccessToken: "acc", RefreshToken: "ref", ExpiresIn: 300, RecoveryCodes: []string{"rc-1111", "rc-2222"}}, nil
		case *credentialv1.ContinueLoginRequest_AcceptTermsVersion:
			answers = append(answers, "terms:"+a.AcceptTermsVersion)
			return &credentialv1.ContinueLoginResponse{NextStep: credentialv1.LoginStep_CHANGE_PASSWORD, LoginTicket: "t3",
				PasswordRules: &credentialv1.PasswordRules{MinLength: 10, MinDigits: 2}}, nil
		case *credentialv1.ContinueLoginRequest_NewPassword:
			answers = append(answers, "password:"+a.NewPassword)
			if len(a.NewPassword) < 10 {
				return nil, grpcErr(errs.Invalid(errs.Field("newPassword", "PASSWORD_TOO_SHORT", "short")))
			}
			return &credentialv1.ContinueLoginResponse{NextStep: credentialv1.LoginStep_ENROLL_MFA, LoginTicket: "t4"}, nil
		case *credentialv1.ContinueLoginRequest_StartTotpEnrollment:
			answers = append(answers, "enroll")
			return &credentialv1.ContinueLoginResponse{NextStep: credentialv1.LoginStep_ENROLL_MFA, LoginTicket: "t5",
				TotpEnrollment: &credentialv1.TotpEnrollment{Secret: "JBSWY3DPEHPK3PXP", QrPng: []byte("\x89PNGfake")}}, nil
		}
		t.Fatalf("unexpected answer %T", in.GetAnswer())
		return nil, nil
	}
	b := ts.browser()
	p := b.submit("/ui/sign-in?return=/ui/settings", "/ui/sign-in", url.Values{"tenant": {"acme"}, "username": {"ann"}, "password": {"pw"}, "remember": {"1"}})
	wantRedirect(t, p, "/ui/login/code")
	if strings.Contains(p.Header.Get("Location"), "t1") {
		t.Fatal("ticket in the URL")
	}
	// A wrong code: an error next to the field, announced.
	p = b.submit("/ui/login/code", "/ui/login/code", url.Values{"code": {"000000"}})
	wantStatus(t, p, http.StatusUnauthorized)
	for _, want := range []string{`role="alert"`, `aria-invalid="true"`, `aria-describedby="code-help e-code"`, `autocomplete="one-time-code"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("wrong-code page lacks %s:\n%s", want, p.Body)
		}
	}
	wantRedirect(t, b.submit("/ui/login/code", "/ui/login/code", url.Values{"code": {"123 456"}}), "/ui/login/terms")
	// A page of another step sends the browser to the current one.
	wantRedirect(t, b.get("/ui/login/password"), "/ui/login/terms")
	terms := b.get("/ui/login/terms")
	if !strings.Contains(terms.Body, "Be nice.") || !strings.Contains(terms.Body, "2026-01") {
		t.Fatalf("terms page:\n%s", terms.Body)
	}
	wantStatus(t, b.submit("/ui/login/terms", "/ui/login/terms", url.Values{"version": {"2026-01"}}), http.StatusBadRequest)
	wantRedirect(t, b.submit("/ui/login/terms", "/ui/login/terms", url.Values{"version": {"2026-01"}, "accept": {"1"}}), "/ui/login/password")
	pw := b.get("/ui/login/password")
	for _, want := range []string{"at least 10 characters", "at least 2 digit", `data-rule="length"`, `autocomplete="new-password"`} {
		if !strings.Contains(pw.Body, want) {
			t.Errorf("password page lacks %s", want)
		}
	}
	p = b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"Short1"}, "new_password_again": {"Other1"}})
	if !strings.Contains(p.Body, "not the same") {
		t.Errorf("mismatch not reported:\n%s", p.Body)
	}
	p = b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"Short1"}, "new_password_again": {"Short1"}})
	if !strings.Contains(p.Body, "too short") || !strings.Contains(p.Body, `id="e-new_password"`) {
		t.Errorf("policy refusal not next to the field:\n%s", p.Body)
	}
	wantRedirect(t, b.submit("/ui/login/password", "/ui/login/password", url.Values{"new_password": {"LongEnough12"}, "new_password_again": {"LongEnough12"}}), "/ui/login/enroll")
	p = b.submit("/ui/login/enroll", "/ui/login/enroll", url.Values{"action": {"start"}})
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(p.Body, `src="data:image/png;base64,`) || !strings.Contains(p.Body, "JBSW Y3DP EHPK 3PXP") {
		t.Fatalf("enrolment page lacks the QR code or key:\n%s", p.Body)
	}
	p = b.submit("/ui/login/enroll", "/ui/login/enroll", url.Values{"code": {"654321"}})
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(p.Body, "rc-1111") || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("recovery codes page:\n%s", p.Body)
	}
	wantRedirect(t, b.post("/ui/login/done", url.Values{CSRFField: {csrfOf(p.Body)}}), "/ui/settings")
	home := b.get("/ui/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.Body, "ann@acme.example") {
		t.Errorf("landing page does not say who is signed in:\n%s", home.Body)
	}
	if got := strings.Join(answers, ","); got != "code:000000,code:123456,terms:2026-01,password:Short1,password:LongEnough12,enroll,code:654321" {
		t.Errorf("answers = %s", got)
	}
	// Remembered: a new visit to the sign-in page fills both in.
	si := b.get("/ui/sign-in")
	wantRedirect(t, si, "/ui/") // signed in already
	wantRedirect(t, b.post("/ui/sign-out", url.Values{CSRFField: {csrfOf(home.Body)}}), "/ui/sign-in?tenant=acme")
	if len(ts.f.logouts) != 1 || ts.f.logouts[0] != "ref" {
		t.Errorf("logouts = %v", ts.f.logouts)
	}
	si = b.get("/ui/sign-in")
	if !strings.Contains(si.Body, `value="ann"`) || !strings.Contains(si.Body, "checked") {
		t.Errorf("remembered username not filled in:\n%s", si.Body)
	}
	wantRedirect(t, b.get("/ui/"), "/ui/sign-in")
}

func TestSignIn_ReturnURL_OnlyLocal(t *testing.T) {
	ts := newTestServer(t)
	ts.f.login = func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		return &credentialv1.LoginResponse{AccessToken: "a", RefreshToken: "r", ExpiresIn: 300}, nil
	}
	for ret, want := range map[string]string{
		"https://evil.example/": "/ui/",
		"//evil.example/ui/":    "/ui/",
		"/ui/settings":          "/ui/settings",
	} {
		b := ts.browser()
		p := b.submit("/ui/sign-in?return="+url.QueryEscape(ret), "/ui/sign-in", url.Values{"tenant": {"acme"}, "username": {"ann"}, "password": {"pw"}})
		wantRedirect(t, p, want)
	}
}

func TestSignIn_ForwardsClientAddressAndRequestID(t *testing.T) {
	ts := newTestServer(t)
	ts.f.login = func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		return nil, grpcErr(errs.Unauthenticated("INVALID_CREDENTIALS", "no"))
	}
	b := ts.browser()
	b.submit("/ui/sign-in", "/ui/sign-in", url.Values{"tenant": {"acme"}, "username": {"ann"}, "password": {"pw"}})
	md := ts.f.metadata[len(ts.f.metadata)-1]
	if got := md.Get("x-forwarded-for"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("x-forwarded-for = %v", got)
	}
	if got := md.Get("grpcgateway-user-agent"); len(got) != 1 {
		t.Errorf("user agent = %v", got)
	}
	if got := md.Get("authorization"); len(got) != 0 {
		t.Errorf("sign-in sent a token: %v", got)
	}
}

func TestLinkToken_RemovedFromURL(t *testing.T) {
	ts := newTestServer(t)
	var used string
	ts.f.activate = func(in *recoveryv1.CompleteActivationRequest) (*recoveryv1.CompleteActivationResponse, error) {
		used = in.GetToken()
		return &recoveryv1.CompleteActivationResponse{TenantCode: "acme", Username: "ann"}, nil
	}
	b := ts.browser()
	p := b.get("/ui/activate?token=secret-link-token")
	wantRedirect(t, p, "/ui/activate")
	if s := b.session(); s.LinkToken != "secret-link-token" {
		t.Fatalf("token not kept in the session: %+v", s)
	}
	form := b.get("/ui/activate")
	wantStatus(t, form, http.StatusOK)
	if strings.Contains(form.Body, "secret-link-token") {
		t.Fatal("the token is in the page")
	}
	p = b.post("/ui/activate", url.Values{CSRFField: {csrfOf(form.Body)}, "new_password": {"NewPassw0rd"}, "new_password_again": {"NewPassw0rd"}})
	wantRedirect(t, p, "/ui/sign-in?tenant=acme")
	if used != "secret-link-token" {
		t.Errorf("activation used token %q", used)
	}
	si := b.get("/ui/sign-in?tenant=acme")
	if !strings.Contains(si.Body, "Your password is set") || !strings.Contains(si.Body, `value="acme"`) {
		t.Errorf("sign-in after activation:\n%s", si.Body)
	}
	// The link is spent from the session: the page now says so.
	wantStatus(t, b.get("/ui/activate"), http.StatusBadRequest)

	// The reset link likewise.
	wantRedirect(t, b.get("/ui/reset-password?token=another&lang=nl"), "/ui/reset-password?lang=nl")
	wantRedirect(t, b.get("/ui/activate?tenant=acme&token=x&utm=1"), "/ui/activate?tenant=acme")
}

func TestResetPassword_ProofThenPassword(t *testing.T) {
	ts := newTestServer(t)
	ts.f.inspect = func(*recoveryv1.InspectPasswordResetRequest) (*recoveryv1.InspectPasswordResetResponse, error) {
		return &recoveryv1.InspectPasswordResetResponse{
			Requires:      []recoveryv1.ResetRequirement_Value{recoveryv1.ResetRequirement_TOTP_CODE, recoveryv1.ResetRequirement_SECURITY_ANSWERS},
			Questions:     []string{"Name of your first pet?"},
			PasswordRules: &credentialv1.PasswordRules{MinLength: 8},
			Username:      "ann@acme.example",
		}, nil
	}
	ts.f.verify = func(in *recoveryv1.VerifyPasswordResetRequest) (*recoveryv1.VerifyPasswordResetResponse, error) {
		if in.GetTotpCode() != "111111" || len(in.GetAnswers()) != 1 || in.GetAnswers()[0].GetAnswer() != "Rex" {
			return nil, grpcErr(errs.Unauthenticated("RESET_VERIFICATION_FAILED", "no"))
		}
		return &recoveryv1.VerifyPasswordResetResponse{ResetTicket: "rt"}, nil
	}
	var proof string
	ts.f.complete = func(in *recoveryv1.CompletePasswordResetRequest) (*recoveryv1.CompletePasswordResetResponse, error) {
		proof = in.GetResetTicket()
		return &recoveryv1.CompletePasswordResetResponse{TenantCode: "acme"}, nil
	}
	b := ts.browser()
	wantRedirect(t, b.get("/ui/reset-password?token=tok"), "/ui/reset-password")
	p := b.get("/ui/reset-password")
	if !strings.Contains(p.Body, "Name of your first pet?") || !strings.Contains(p.Body, `autocomplete="one-time-code"`) || strings.Contains(p.Body, "new_password") {
		t.Fatalf("proof page:\n%s", p.Body)
	}
	p = b.submit("/ui/reset-password", "/ui/reset-password", url.Values{"code": {"222222"}, "answer1": {"Rex"}})
	wantStatus(t, p, http.StatusUnauthorized)
	wantRedirect(t, b.submit("/ui/reset-password", "/ui/reset-password", url.Values{"code": {"111111"}, "answer1": {"Rex"}}), "/ui/reset-password")
	p = b.get("/ui/reset-password")
	// The account's username beside the new password, for password managers.
	if !strings.Contains(p.Body, `name="new_password"`) || !strings.Contains(p.Body, `autocomplete="username" value="ann@acme.example"`) {
		t.Fatalf("password page:\n%s", p.Body)
	}
	wantRedirect(t, b.submit("/ui/reset-password", "/ui/reset-password", url.Values{"new_password": {"Whatever12"}, "new_password_again": {"Whatever12"}}), "/ui/sign-in?tenant=acme")
	if proof != "rt" {
		t.Errorf("completed with ticket %q", proof)
	}
}

func TestForgotPassword_SameAnswerAlways(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	p := b.submit("/ui/forgot-password?tenant=acme", "/ui/forgot-password", url.Values{"tenant": {"acme"}, "login": {"ann"}})
	wantStatus(t, p, http.StatusAccepted)
	if !strings.Contains(p.Body, "If the account exists, an e-mail is on its way") {
		t.Errorf("sent page:\n%s", p.Body)
	}
	if len(ts.f.resetAsked) != 1 || ts.f.resetAsked[0].GetLogin() != "ann" {
		t.Errorf("reset requests = %v", ts.f.resetAsked)
	}
	p = b.submit("/ui/request-key", "/ui/request-key", url.Values{"tenant": {"acme"}, "login": {"ann"}})
	wantStatus(t, p, http.StatusAccepted)
	if len(ts.f.keyAsked) != 1 {
		t.Errorf("key requests = %v", ts.f.keyAsked)
	}
	p = b.submit("/ui/forgot-password", "/ui/forgot-password", url.Values{"tenant": {"acme"}})
	wantStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.Body, `id="e-login"`) {
		t.Errorf("missing field not reported next to it:\n%s", p.Body)
	}
}

func TestLanguage_DutchFromTenantAndSwitch(t *testing.T) {
	ts := newTestServer(t)
	ts.f.appearance = &accountv1.GetAppearanceResponse{Code: "acme", BrandName: "Acme Portaal", Locale: "nl-NL"}
	b := ts.browser()
	p := b.get("/ui/sign-in?tenant=acme")
	if !strings.Contains(p.Body, `<html lang="nl">`) || !strings.Contains(p.Body, "Bedrijfscode") || !strings.Contains(p.Body, "Acme Portaal") {
		t.Fatalf("Dutch page:\n%s", p.Body)
	}
	p = b.get("/ui/sign-in?tenant=acme&lang=en")
	if !strings.Contains(p.Body, `<html lang="en">`) || !strings.Contains(p.Body, "Company code") {
		t.Fatalf("switched page:\n%s", p.Body)
	}
	// The choice sticks (cookie).
	p = b.get("/ui/sign-in?tenant=acme")
	if !strings.Contains(p.Body, `<html lang="en">`) {
		t.Fatal("language choice not remembered")
	}
	ts.f.login = func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		return nil, grpcErr(errs.Unauthenticated("INVALID_CREDENTIALS", "no"))
	}
	nl := ts.browser()
	p = nl.submit("/ui/sign-in?tenant=acme", "/ui/sign-in", url.Values{"tenant": {"acme"}, "username": {"x"}, "password": {"y"}})
	if !strings.Contains(p.Body, "of uw account is geblokkeerd — zie uw e-mail") {
		t.Errorf("Dutch failure text missing:\n%s", p.Body)
	}
}

func TestSessionCookie_SecureUnlessPlainLoopback(t *testing.T) {
	ring, _ := keyring.Parse(keyring.Generate())
	s, err := New(Config{SessionKeys: ring, Clients: Clients{Account: fakeAccount{f: &fakeBackend{}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		remote     string
		host       string
		tls        bool
		wantSecure bool
	}{
		{"plain loopback", "127.0.0.1:5000", "127.0.0.1:8080", false, false},
		{"localhost", "[::1]:5000", "localhost:8080", false, false},
		{"remote peer", "203.0.113.9:5000", "id.example", false, true},
		{"loopback peer, public host name (a proxy)", "127.0.0.1:5000", "id.example", false, true},
		{"tls", "127.0.0.1:5000", "127.0.0.1:8443", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ui/sign-in", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			var c *http.Cookie
			for _, x := range w.Result().Cookies() {
				if strings.HasSuffix(x.Name, "latchkey_session") {
					c = x
				}
			}
			if c == nil {
				t.Fatal("no session cookie")
			}
			wantName := sessionCookieLoopback
			if tc.wantSecure {
				wantName = sessionCookieSecure
			}
			if c.Name != wantName || c.Secure != tc.wantSecure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("cookie %+v", c)
			}
		})
	}
}

func TestSession_TamperedOrForeignCookieIsNoSession(t *testing.T) {
	ring, _ := keyring.Parse(keyring.Generate())
	other, _ := keyring.Parse(keyring.Generate())
	now := time.Now()
	v, _ := sessionCodec{ring: ring}.encode(&Session{Created: now.Unix(), CSRF: "x", Access: "a", Refresh: "r"})
	if _, ok := (sessionCodec{ring: ring}).decode(v, now); !ok {
		t.Fatal("own cookie does not open")
	}
	if _, ok := (sessionCodec{ring: other}).decode(v, now); ok {
		t.Error("a cookie of another key ring opened")
	}
	if _, ok := (sessionCodec{ring: ring}).decode(v[:len(v)-2]+"AA", now); ok {
		t.Error("a tampered cookie opened")
	}
	if _, ok := (sessionCodec{ring: ring}).decode(v, now.Add(sessionMaxAge+time.Minute)); ok {
		t.Error("an old cookie opened")
	}
	if strings.Contains(v, "ref") {
		t.Error("cookie is not encrypted")
	}
}

func TestSignedInPages_RefreshNearExpiry_StepUp(t *testing.T) {
	ts := newTestServer(t)
	ts.f.refreshResp = func(in *credentialv1.RefreshTokenRequest) (*credentialv1.RefreshTokenResponse, error) {
		return &credentialv1.RefreshTokenResponse{AccessToken: "acc2", RefreshToken: "ref2", ExpiresIn: 300}, nil
	}
	b := ts.browser()
	s := signedIn()
	s.AccessExp = time.Now().Add(10 * time.Second).Unix()
	b.setSession(s)
	wantStatus(t, b.get("/ui/"), http.StatusOK)
	if got := b.session(); got.Access != "acc2" || got.Refresh != "ref2" {
		t.Errorf("not refreshed: %+v", got)
	}
	// A refused refresh signs out.
	ts.f.refreshResp = nil
	s = signedIn()
	s.Refresh = "another-refresh-token" // "ref"'s answer is shared for a minute
	s.AccessExp = time.Now().Add(-time.Minute).Unix()
	b.setSession(s)
	wantRedirect(t, b.get("/ui/"), "/ui/sign-in")
	if b.session().SignedIn() {
		t.Error("still signed in after a refused refresh")
	}

	// Step-up: a page behind it sends the user to /ui/reauth first.
	var stepped *Request
	ts2 := newTestServer(t)
	srv, _ := New(Config{SessionKeys: ts2.ring, Clients: Clients{Auth: fakeAuth{f: ts2.f}, Account: fakeAccount{f: ts2.f}}})
	srv.Handle("GET /ui/secure-thing", srv.StepUp(func(rq *Request) { stepped = rq; rq.Render("sent", map[string]string{"Message": "key.sent"}) }))
	ts2.srv.Config.Handler = srv
	b = ts2.browser()
	b.setSession(signedIn())
	wantRedirect(t, b.get("/ui/secure-thing"), "/ui/reauth?return=%2Fui%2Fsecure-thing")
	p := b.submit("/ui/reauth?return=%2Fui%2Fsecure-thing", "/ui/reauth", url.Values{"password": {"wrong"}})
	wantStatus(t, p, http.StatusUnauthorized)
	wantRedirect(t, b.submit("/ui/reauth?return=%2Fui%2Fsecure-thing", "/ui/reauth", url.Values{"password": {"right"}}), "/ui/secure-thing")
	wantStatus(t, b.get("/ui/secure-thing"), http.StatusOK)
	if stepped == nil || stepped.Session.Reauth != "fresh" {
		t.Error("step-up page did not run with the fresh token")
	}
}

func TestLanguageLinks_KeepTheCompanyCode(t *testing.T) {
	ts := newTestServer(t)
	p := ts.browser().get("/ui/sign-in?tenant=acme&x=1")
	if !strings.Contains(p.Body, `href="/ui/sign-in?lang=nl&amp;tenant=acme"`) || strings.Contains(p.Body, "x=1") {
		t.Errorf("language links:\n%s", p.Body)
	}
}

func TestHeaders_OnEveryAnswer(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/ui/static/ui.css"}, {"GET", "/ui/static/ui.js"}, {"GET", "/ui/static/"}, {"GET", "/ui/static/nope.css"},
		{"PUT", "/ui/sign-in"}, {"DELETE", "/ui/"}, {"GET", "/ui/mailbox/"}, {"GET", "/ui/nope"},
	} {
		req, _ := http.NewRequest(tc.method, ts.srv.URL+tc.path, nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		checkHeaders(t, page{Response: resp})
	}
}

func TestHandleAuthError_EndedSessionAndReauth(t *testing.T) {
	ts := newTestServer(t)
	ts.f.me = func(context.Context) (*accountv1.GetMeResponse, error) {
		return nil, grpcErr(errs.Unauthenticated("SESSION_REVOKED", "the session has ended"))
	}
	b := ts.browser()
	b.setSession(signedIn())
	wantRedirect(t, b.get("/ui/"), "/ui/sign-in?tenant=acme")
	if s := b.session(); s.SignedIn() || s.Return != "/ui/" {
		t.Errorf("after a revoked session: %+v", s)
	}
	ts.f.me = func(context.Context) (*accountv1.GetMeResponse, error) {
		return nil, grpcErr(errs.PermissionDenied("REAUTHENTICATION_REQUIRED", "confirm"))
	}
	b.setSession(signedIn())
	wantRedirect(t, b.get("/ui/"), "/ui/reauth?return=%2Fui%2F")
}

func TestSignIn_RateLimitedAndUnavailable(t *testing.T) {
	ts := newTestServer(t)
	var answer error
	ts.f.login = func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) { return nil, answer }
	b := ts.browser()
	form := url.Values{"tenant": {"acme"}, "username": {"ann"}, "password": {"pw"}}
	answer = grpcErr(errs.TooManyAttempts("RATE_LIMITED", "slow down"))
	p := b.submit("/ui/sign-in", "/ui/sign-in", form)
	wantStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(p.Body, "Too many attempts") {
		t.Errorf("rate-limit page:\n%s", p.Body)
	}
	answer = grpcErr(errs.Unavailable("CREDENTIAL_UNAVAILABLE", "down", nil))
	p = b.submit("/ui/sign-in", "/ui/sign-in", form)
	wantStatus(t, p, http.StatusServiceUnavailable)
	// Unchecked "remember": the cookie goes.
	for _, c := range p.Cookies() {
		if c.Name == rememberCookie && c.MaxAge >= 0 {
			t.Errorf("remember cookie kept: %+v", c)
		}
	}
}

// Two requests that both find the access token near expiry refresh once:
// a second use of the spent refresh token would end the session.
func TestRefresh_ConcurrentRequestsRefreshOnce(t *testing.T) {
	ts := newTestServer(t)
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	ts.f.refreshResp = func(in *credentialv1.RefreshTokenRequest) (*credentialv1.RefreshTokenResponse, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		<-release
		return &credentialv1.RefreshTokenResponse{AccessToken: "acc2", RefreshToken: "ref2", ExpiresIn: 300}, nil
	}
	s := signedIn()
	s.AccessExp = time.Now().Add(5 * time.Second).Unix()
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		b := ts.browser()
		b.setSession(&Session{Created: s.Created, CSRF: s.CSRF, Tenant: s.Tenant, Username: s.Username, Access: s.Access, Refresh: s.Refresh, AccessExp: s.AccessExp})
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := b.c.Get(ts.srv.URL + "/ui/")
			if err == nil {
				statuses[i] = resp.StatusCode
				resp.Body.Close()
			}
		}()
	}
	for {
		mu.Lock()
		n := calls
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if calls != 1 {
		t.Errorf("%d refresh calls for one refresh token, want 1", calls)
	}
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("request %d: %d", i, st)
		}
	}
}
