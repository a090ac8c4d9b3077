package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

func TestSignIn_RendersWithHeaders(t *testing.T) {
	ts := newTestServer(t)
	p := ts.browser().get("/ui/sign-in?tenant=acme")
	wantStatus(t, p, http.StatusOK)
	for k, v := range SecurityHeaders {
		if got := p.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", p.Header.Get("Cache-Control"))
	}
	for _, want := range []string{`<html lang="en">`, `autocomplete="username"`, `autocomplete="current-password"`, `value="acme"`, `name="csrf"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("body lacks %s", want)
		}
	}
	c := p.Cookies()
	if len(c) == 0 || c[0].Name != sessionCookieLoopback || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie = %+v", c)
	}
}

func TestSignIn_FailureTextSameForWrongPasswordAndLock(t *testing.T) {
	ts := newTestServer(t)
	ts.f.login = func(in *credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
		// Both are the same 401 at the API; the page must not tell them apart either.
		if in.GetUsername() == "locked" {
			// Even were a backend to say more, the page says the same.
			return nil, grpcErr(errs.Unauthenticated("ACCOUNT_LOCKED", "locked"))
		}
		return nil, grpcErr(errs.Unauthenticated("INVALID_CREDENTIALS", "the company code, username or password is wrong"))
	}
	b := ts.browser()
	form := func(user string) url.Values {
		return url.Values{"tenant": {"acme"}, "username": {user}, "password": {"x"}}
	}
	a := b.submit("/ui/sign-in", "/ui/sign-in", form("ann"))
	l := b.submit("/ui/sign-in", "/ui/sign-in", form("locked"))
	wantStatus(t, a, http.StatusUnauthorized)
	wantStatus(t, l, http.StatusUnauthorized)
	if !strings.Contains(a.Body, "or your account is locked — see your e-mail") {
		t.Errorf("failure text missing:\n%s", a.Body)
	}
	strip := func(s, user string) string { return strings.ReplaceAll(s, `value="`+user+`"`, "") }
	if strip(a.Body, "ann") != strip(l.Body, "locked") {
		t.Errorf("wrong password and locked account answer differently")
	}
}
