package ui

import (
	"embed"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/keyring"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed messages/*.json
var messageFS embed.FS

// Clients are the public gRPC services the pages call: the same ones the
// REST mapping uses, over the gateway's own backend connections.
type Clients struct {
	Auth            credentialv1.AuthServiceClient
	Credential      credentialv1.CredentialServiceClient
	CredentialAdmin credentialv1.CredentialAdminServiceClient
	Account         accountv1.AccountServiceClient
	AccountAdmin    accountv1.AccountAdminServiceClient
	Recovery        recoveryv1.RecoveryServiceClient
	RecoveryAdmin   recoveryv1.RecoveryAdminServiceClient
	MFA             mfav1.MfaServiceClient
	MFAAdmin        mfav1.MfaAdminServiceClient
}

// NewClients builds the clients over one connection per backend.
func NewClients(account, credential, recovery, mfa grpc.ClientConnInterface) Clients {
	return Clients{
		Auth:            credentialv1.NewAuthServiceClient(credential),
		Credential:      credentialv1.NewCredentialServiceClient(credential),
		CredentialAdmin: credentialv1.NewCredentialAdminServiceClient(credential),
		Account:         accountv1.NewAccountServiceClient(account),
		AccountAdmin:    accountv1.NewAccountAdminServiceClient(account),
		Recovery:        recoveryv1.NewRecoveryServiceClient(recovery),
		RecoveryAdmin:   recoveryv1.NewRecoveryAdminServiceClient(recovery),
		MFA:             mfav1.NewMfaServiceClient(mfa),
		MFAAdmin:        mfav1.NewMfaAdminServiceClient(mfa),
	}
}

// Config configures New.
type Config struct {
	Clients Clients
	// SessionKeys seal the session cookie (EnvSessionKeys); required.
	SessionKeys *keyring.Ring
	// ClientIP is the client address the edge decided for r (its
	// forwarded-header policy); the pages pass it to the backends as the
	// REST mapping does. Nil: the peer address.
	ClientIP func(r *http.Request) string
	// Forwarded reports whether r was relayed by a proxy (so it did not
	// come over plain HTTP from this machine even if its peer is
	// loopback). Nil: never.
	Forwarded func(r *http.Request) bool
	// Fallback serves the paths under /ui/ that are not pages of this
	// package (the all-in-one's built-in mailbox); nil: 404.
	Fallback http.Handler
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Server is the hosted pages' handler.
type Server struct {
	cfg       Config
	clock     clock.Clock
	log       *slog.Logger
	codec     sessionCodec
	pages     map[string]*pageTemplate
	messages  catalogs
	mux       *http.ServeMux
	refresher refresher
	// patterns are the registered pages, for the test that walks them all.
	patterns []string
}

// New builds the pages' handler; it serves paths under /ui/ (the full
// path, /ui/ included).
func New(cfg Config) (*Server, error) {
	if cfg.SessionKeys == nil {
		return nil, ErrSessionKeysRequired
	}
	s := &Server{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, codec: sessionCodec{ring: cfg.SessionKeys}}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	var err error
	if s.messages, err = loadCatalogs(messageFS); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(templateFS); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", staticHandler(static)))
	s.routes()
	fallback := http.HandlerFunc(s.notFound)
	if cfg.Fallback != nil {
		fallback = func(w http.ResponseWriter, r *http.Request) {
			// The fallback may set its own (stricter) policy over these.
			setSecurityHeaders(w.Header())
			cfg.Fallback.ServeHTTP(w, r)
		}
	}
	s.mux.Handle("/ui/", fallback)
	return s, nil
}

// ServeHTTP serves /ui/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer under /ui/ has the headers, whichever handler (or the
	// mux itself, for a method it refuses) writes it.
	setSecurityHeaders(w.Header())
	s.mux.ServeHTTP(w, r)
}

// Handle adds a page: pattern as for http.ServeMux ("GET /ui/x"), h called
// with the request's session loaded, its CSRF token checked (every
// non-GET/HEAD request), its language decided and the security headers
// set. Use SignedIn or StepUp around h for pages that need them.
func (s *Server) Handle(pattern string, h func(*Request)) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, h)
	}))
}

// routes registers every page. A new page adds its line here.
func (s *Server) routes() {
	s.Handle("GET /ui/{$}", s.SignedIn(s.home))
	s.Handle("GET /ui/sign-in", s.signInForm)
	s.Handle("POST /ui/sign-in", s.signIn)
	s.Handle("POST /ui/sign-out", s.signOut)
	s.Handle("GET /ui/login/code", s.loginStep(stepMFA, s.codeForm))
	s.Handle("POST /ui/login/code", s.loginStep(stepMFA, s.code))
	s.Handle("GET /ui/login/terms", s.loginStep(stepTerms, s.termsForm))
	s.Handle("POST /ui/login/terms", s.loginStep(stepTerms, s.terms))
	s.Handle("GET /ui/login/password", s.loginStep(stepPassword, s.newPasswordForm))
	s.Handle("POST /ui/login/password", s.loginStep(stepPassword, s.newPassword))
	s.Handle("GET /ui/login/enroll", s.loginStep(stepEnroll, s.enrollForm))
	s.Handle("POST /ui/login/enroll", s.loginStep(stepEnroll, s.enroll))
	s.Handle("POST /ui/login/done", s.SignedIn(s.loginDone))
	s.Handle("GET /ui/reauth", s.SignedIn(s.reauthForm))
	s.Handle("POST /ui/reauth", s.SignedIn(s.reauth))
	s.Handle("GET /ui/activate", s.activateForm)
	s.Handle("POST /ui/activate", s.activate)
	s.Handle("GET /ui/forgot-password", s.forgotForm)
	s.Handle("POST /ui/forgot-password", s.forgot)
	s.Handle("GET /ui/reset-password", s.resetForm)
	s.Handle("POST /ui/reset-password", s.reset)
	s.Handle("GET /ui/request-key", s.keyRequestForm)
	s.Handle("POST /ui/request-key", s.keyRequest)
	s.settingsRoutes()
	s.adminRoutes()
}

// serve runs one page: session, CSRF, language, headers, then h.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, h func(*Request)) {
	setSecurityHeaders(w.Header())
	rq := &Request{W: w, R: r, s: s, mode: s.cookieMode(r)}
	rq.loadSession()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			rq.decideLanguage()
			rq.Fail(http.StatusBadRequest, "error.bad_request")
			return
		}
		rq.decideLanguage()
		if rq.fresh || !equalToken(r.PostForm.Get(CSRFField), rq.Session.CSRF) {
			rq.Fail(http.StatusForbidden, "error.csrf")
			return
		}
	} else {
		rq.decideLanguage()
	}
	h(rq)
}

// maxFormBytes bounds a form post; the largest form (security questions)
// is a few KB.
const maxFormBytes = 64 << 10

// CSRFField is the name of every form's hidden CSRF field.
const CSRFField = "csrf"

// cookieMode decides Secure and the __Host- prefix for r.
func (s *Server) cookieMode(r *http.Request) cookieMode {
	if r.TLS != nil || (s.cfg.Forwarded != nil && s.cfg.Forwarded(r)) {
		return cookieMode{secure: true}
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !peer.Addr().Unmap().IsLoopback() || !loopbackHost(r.Host) {
		return cookieMode{secure: true}
	}
	return cookieMode{secure: false}
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// clientIP is the address the backends are told.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.ClientIP != nil {
		return s.cfg.ClientIP(r)
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ""
}

// notFound is the 404 page.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, func(rq *Request) { rq.Fail(http.StatusNotFound, "error.not_found") })
}

// staticHandler serves the CSS and JavaScript, cacheable for an hour.
func staticHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}
