package ui

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/keyring"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// fakeBackend answers the pages' calls in memory; each test sets the
// functions it needs. Calls records the metadata of every call.
type fakeBackend struct {
	mu       sync.Mutex
	metadata []metadata.MD

	login       func(*credentialv1.LoginRequest) (*credentialv1.LoginResponse, error)
	cont        func(*credentialv1.ContinueLoginRequest) (*credentialv1.ContinueLoginResponse, error)
	me          func(ctx context.Context) (*accountv1.GetMeResponse, error)
	activate    func(*recoveryv1.CompleteActivationRequest) (*recoveryv1.CompleteActivationResponse, error)
	inspect     func(*recoveryv1.InspectPasswordResetRequest) (*recoveryv1.InspectPasswordResetResponse, error)
	verify      func(*recoveryv1.VerifyPasswordResetRequest) (*recoveryv1.VerifyPasswordResetResponse, error)
	complete    func(*recoveryv1.CompletePasswordResetRequest) (*recoveryv1.CompletePasswordResetResponse, error)
	resetAsked  []*recoveryv1.RequestPasswordResetRequest
	keyAsked    []*mfav1.RequestKeyRequest
	logouts     []string
	terms       *accountv1.GetCurrentTermsResponse
	appearance  *accountv1.GetAppearanceResponse
	refreshResp func(*credentialv1.RefreshTokenRequest) (*credentialv1.RefreshTokenResponse, error)
}

func (f *fakeBackend) record(ctx context.Context) {
	md, _ := metadata.FromOutgoingContext(ctx)
	f.mu.Lock()
	f.metadata = append(f.metadata, md)
	f.mu.Unlock()
}

type fakeAuth struct {
	credentialv1.AuthServiceClient
	f *fakeBackend
}

func (a fakeAuth) Login(ctx context.Context, in *credentialv1.LoginRequest, _ ...grpc.CallOption) (*credentialv1.LoginResponse, error) {
	a.f.record(ctx)
	return a.f.login(in)
}

func (a fakeAuth) ContinueLogin(ctx context.Context, in *credentialv1.ContinueLoginRequest, _ ...grpc.CallOption) (*credentialv1.ContinueLoginResponse, error) {
	a.f.record(ctx)
	return a.f.cont(in)
}

func (a fakeAuth) Logout(ctx context.Context, in *credentialv1.LogoutRequest, _ ...grpc.CallOption) (*credentialv1.LogoutResponse, error) {
	a.f.record(ctx)
	a.f.logouts = append(a.f.logouts, in.GetRefreshToken())
	return &credentialv1.LogoutResponse{}, nil
}

func (a fakeAuth) RefreshToken(ctx context.Context, in *credentialv1.RefreshTokenRequest, _ ...grpc.CallOption) (*credentialv1.RefreshTokenResponse, error) {
	a.f.record(ctx)
	if a.f.refreshResp == nil {
		return nil, errs.Unauthenticated("REFRESH_TOKEN_INVALID", "no")
	}
	return a.f.refreshResp(in)
}

func (a fakeAuth) Reauthenticate(ctx context.Context, in *credentialv1.ReauthenticateRequest, _ ...grpc.CallOption) (*credentialv1.ReauthenticateResponse, error) {
	a.f.record(ctx)
	if in.GetPassword() != "right" {
		return nil, errs.Unauthenticated("INVALID_CREDENTIALS", "no")
	}
	return &credentialv1.ReauthenticateResponse{AccessToken: "fresh", ExpiresIn: 300}, nil
}

type fakeAccount struct {
	accountv1.AccountServiceClient
	f *fakeBackend
}

func (a fakeAccount) GetMe(ctx context.Context, _ *accountv1.GetMeRequest, _ ...grpc.CallOption) (*accountv1.GetMeResponse, error) {
	a.f.record(ctx)
	if a.f.me == nil {
		md, _ := metadata.FromOutgoingContext(ctx)
		if len(md.Get("authorization")) == 0 {
			return nil, errs.Unauthenticated("UNAUTHENTICATED", "no token")
		}
		return &accountv1.GetMeResponse{TenantCode: "acme", Account: &accountv1.Account{Username: "ann@acme.example", DisplayName: "Ann"}}, nil
	}
	return a.f.me(ctx)
}

func (a fakeAccount) GetCurrentTerms(ctx context.Context, _ *accountv1.GetCurrentTermsRequest, _ ...grpc.CallOption) (*accountv1.GetCurrentTermsResponse, error) {
	a.f.record(ctx)
	if a.f.terms != nil {
		return a.f.terms, nil
	}
	return &accountv1.GetCurrentTermsResponse{Version: "2026-01", Text: "Be nice."}, nil
}

func (a fakeAccount) GetAppearance(ctx context.Context, in *accountv1.GetAppearanceRequest, _ ...grpc.CallOption) (*accountv1.GetAppearanceResponse, error) {
	a.f.record(ctx)
	if a.f.appearance != nil {
		return a.f.appearance, nil
	}
	return &accountv1.GetAppearanceResponse{Code: in.GetCode(), BrandName: "Latchkey", Locale: "en",
		PasswordRules: &credentialv1.PasswordRules{MinLength: 8, MinUppercase: 1, MinDigits: 1}}, nil
}

type fakeRecovery struct {
	recoveryv1.RecoveryServiceClient
	f *fakeBackend
}

func (r fakeRecovery) CompleteActivation(ctx context.Context, in *recoveryv1.CompleteActivationRequest, _ ...grpc.CallOption) (*recoveryv1.CompleteActivationResponse, error) {
	r.f.record(ctx)
	return r.f.activate(in)
}

func (r fakeRecovery) RequestPasswordReset(ctx context.Context, in *recoveryv1.RequestPasswordResetRequest, _ ...grpc.CallOption) (*recoveryv1.RequestPasswordResetResponse, error) {
	r.f.record(ctx)
	r.f.resetAsked = append(r.f.resetAsked, in)
	return &recoveryv1.RequestPasswordResetResponse{}, nil
}

func (r fakeRecovery) InspectPasswordReset(ctx context.Context, in *recoveryv1.InspectPasswordResetRequest, _ ...grpc.CallOption) (*recoveryv1.InspectPasswordResetResponse, error) {
	r.f.record(ctx)
	return r.f.inspect(in)
}

func (r fakeRecovery) VerifyPasswordReset(ctx context.Context, in *recoveryv1.VerifyPasswordResetRequest, _ ...grpc.CallOption) (*recoveryv1.VerifyPasswordResetResponse, error) {
	r.f.record(ctx)
	return r.f.verify(in)
}

func (r fakeRecovery) CompletePasswordReset(ctx context.Context, in *recoveryv1.CompletePasswordResetRequest, _ ...grpc.CallOption) (*recoveryv1.CompletePasswordResetResponse, error) {
	r.f.record(ctx)
	return r.f.complete(in)
}

type fakeMFA struct {
	mfav1.MfaServiceClient
	f *fakeBackend
}

func (m fakeMFA) RequestKey(ctx context.Context, in *mfav1.RequestKeyRequest, _ ...grpc.CallOption) (*mfav1.RequestKeyResponse, error) {
	m.f.record(ctx)
	m.f.keyAsked = append(m.f.keyAsked, in)
	return &mfav1.RequestKeyResponse{}, nil
}

// grpcErr turns an errs error into the gRPC status a backend sends.
func grpcErr(e *errs.Error) error { return e.GRPCStatus().Err() }

// testServer is the pages over a fake backend, served by httptest on
// loopback (plain HTTP: cookies without Secure and the __Host- prefix).
type testServer struct {
	t    *testing.T
	f    *fakeBackend
	api  *fakeAPI // the settings and admin calls
	srv  *httptest.Server
	ring *keyring.Ring
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	f := &fakeBackend{}
	api := newFakeAPI()
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		// The settings and admin calls go to fakeAPI (admin_harness_test.go):
		// the core fakes embed it for the methods they do not answer.
		Clients: Clients{Auth: fakeAuth{f: f}, Account: fakeAccount{AccountServiceClient: fAccount{f: api}, f: f},
			Recovery: fakeRecovery{RecoveryServiceClient: fRecovery{f: api}, f: f}, MFA: fakeMFA{MfaServiceClient: fMFA{f: api}, f: f},
			AccountAdmin: fAccountAdmin{f: api}, Credential: fCredential{f: api}, CredentialAdmin: fCredentialAdmin{f: api},
			MFAAdmin: fMFAAdmin{f: api}, RecoveryAdmin: fRecoveryAdmin{f: api}},
		SessionKeys: ring,
		Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/ui/mailbox/") {
				_, _ = w.Write([]byte("mailbox"))
				return
			}
			http.NotFound(w, r)
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, f: f, api: api, srv: httptest.NewServer(s), ring: ring}
	t.Cleanup(ts.srv.Close)
	return ts
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t  *testing.T
	ts *testServer
	c  *http.Client
}

func (ts *testServer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: ts.t, ts: ts, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer with its body read.
type page struct {
	*http.Response
	Body string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	resp, err := b.c.Get(b.ts.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	return readPage(b.t, resp)
}

// post sends form values; with csrf true it adds the session's CSRF token
// (read from the last form the browser got at path's GET).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	resp, err := b.c.PostForm(b.ts.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return readPage(b.t, resp)
}

// submit GETs formPage, takes its CSRF token and posts form to action.
func (b *browser) submit(formPage, action string, form url.Values) page {
	b.t.Helper()
	p := b.get(formPage)
	tok := csrfOf(p.Body)
	if tok == "" {
		b.t.Fatalf("GET %s: no CSRF field in\n%s", formPage, p.Body)
	}
	form.Set(CSRFField, tok)
	return b.post(action, form)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{Response: resp, Body: sb.String()}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(body string) string {
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// wantStatus fails unless p has the status.
func wantStatus(t *testing.T, p page, status int) {
	t.Helper()
	if p.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", p.Request.Method, p.Request.URL, p.StatusCode, status, p.Body)
	}
}

// wantRedirect fails unless p is a 303 to location.
func wantRedirect(t *testing.T, p page, location string) {
	t.Helper()
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != location {
		t.Fatalf("%s %s: %d to %q, want 303 to %q\n%s", p.Request.Method, p.Request.URL, p.StatusCode, p.Header.Get("Location"), location, p.Body)
	}
}

// setSession puts a sealed session into the browser's jar, as if earlier
// pages had made it.
func (b *browser) setSession(s *Session) {
	b.t.Helper()
	if s.CSRF == "" {
		s.CSRF = randomToken()
	}
	if s.Created == 0 {
		s.Created = time.Now().Unix()
	}
	v, err := sessionCodec{ring: b.ts.ring}.encode(s)
	if err != nil {
		b.t.Fatal(err)
	}
	u, _ := url.Parse(b.ts.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieLoopback, Value: v, Path: "/"}})
}

// session opens the browser's session cookie.
func (b *browser) session() *Session {
	b.t.Helper()
	u, _ := url.Parse(b.ts.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookieLoopback {
			s, ok := sessionCodec{ring: b.ts.ring}.decode(c.Value, time.Now())
			if !ok {
				b.t.Fatal("session cookie does not open")
			}
			return s
		}
	}
	return nil
}

// signedIn is a session with tokens good for an hour.
func signedIn() *Session {
	return &Session{Tenant: "acme", Username: "ann@acme.example", Access: "acc", Refresh: "ref", AccessExp: time.Now().Add(time.Hour).Unix(), SessionID: "s1"}
}
