package ui

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/grpcx"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// stepUpWindow is how long a re-authentication admits security-setting
// calls (POST /v1/auth/reauth).
const stepUpWindow = 5 * time.Minute

// HandleAuthError answers a signed-in page whose backend call was refused
// for the session rather than for its content: a session ended or a token
// refused signs out and goes to the sign-in page (and back after, for a
// GET); REAUTHENTICATION_REQUIRED goes to /ui/reauth. It reports whether
// it answered; other errors are the page's (rq.APIError).
func (rq *Request) HandleAuthError(err error) bool {
	e := errorOf(err)
	back := ""
	if rq.R.Method == http.MethodGet {
		back = LocalPath(rq.R.URL.RequestURI())
	}
	switch {
	case e.Kind == errs.KindPermissionDenied && e.Reason == "REAUTHENTICATION_REQUIRED":
		rq.Session.Reauth, rq.Session.ReauthExp = "", 0
		if back == "" {
			back = LocalPath(rq.R.URL.Path)
		}
		rq.Redirect("/ui/reauth?return=" + urlQueryEscape(back))
		return true
	case e.Kind == errs.KindUnauthenticated:
		tenant := rq.Session.Tenant
		rq.Session.signOut()
		rq.Session.Return = back
		rq.Redirect(signInPath(tenant))
		return true
	}
	return false
}

// refreshMargin: the access token is refreshed when it has less than this
// left, so a backend call never carries one about to expire.
const refreshMargin = 60 * time.Second

// SignedIn wraps a page that needs a signed-in user: without a session
// the browser goes to the sign-in page and comes back after; an access
// token near its expiry is refreshed first (a refused refresh signs out).
func (s *Server) SignedIn(h func(*Request)) func(*Request) {
	return func(rq *Request) {
		if !rq.Session.SignedIn() {
			rq.Session.Return = LocalPath(rq.R.URL.RequestURI())
			if rq.R.Method != http.MethodGet {
				rq.Session.Return = ""
			}
			rq.Redirect(signInPath(rq.R.URL.Query().Get("tenant")))
			return
		}
		if !rq.refresh() {
			rq.Session.signOut()
			rq.Session.Return = LocalPath(rq.R.URL.RequestURI())
			rq.Redirect("/ui/sign-in")
			return
		}
		h(rq)
	}
}

// StepUp wraps a signed-in page that needs a fresh password (security
// settings): without a step-up token of the last minutes the browser goes
// to /ui/reauth and comes back after. Calls needing it use rq.StepUpCtx.
func (s *Server) StepUp(h func(*Request)) func(*Request) {
	return s.SignedIn(func(rq *Request) {
		if rq.Session.Reauth == "" || rq.s.clock.Now().Add(refreshMargin).Unix() >= rq.Session.ReauthExp {
			rq.Session.Reauth, rq.Session.ReauthExp = "", 0
			ret := LocalPath(rq.R.URL.RequestURI())
			if rq.R.Method != http.MethodGet {
				ret = LocalPath(rq.R.URL.Path)
			}
			rq.Redirect("/ui/reauth?return=" + urlQueryEscape(ret))
			return
		}
		h(rq)
	})
}

// signInPath is the sign-in page, with the company code filled in when
// the link named one (e-mails link to /ui/?tenant=).
func signInPath(tenant string) string {
	if t := cleanCode(tenant); t != "" {
		return "/ui/sign-in?tenant=" + urlQueryEscape(t)
	}
	return "/ui/sign-in"
}

// refresh renews the access token when it is near expiry; false when the
// session is over.
func (rq *Request) refresh() bool {
	if rq.s.clock.Now().Add(refreshMargin).Unix() < rq.Session.AccessExp {
		return true
	}
	token := rq.Session.Refresh
	resp, err := rq.s.refresher.refresh(rq.Ctx(), rq.s.clock.Now(), token, func(ctx context.Context) (*credentialv1.RefreshTokenResponse, error) {
		return rq.s.cfg.Clients.Auth.RefreshToken(ctx, &credentialv1.RefreshTokenRequest{RefreshToken: token})
	})
	if err != nil {
		if errs.Is(errs.FromStatus(err), errs.KindUnavailable) {
			return true // keep the session; the page's own call will say
		}
		return false
	}
	rq.Session.Access, rq.Session.Refresh = resp.GetAccessToken(), resp.GetRefreshToken()
	rq.Session.AccessExp = rq.s.clock.Now().Unix() + int64(resp.GetExpiresIn())
	return true
}

// AuthCtx is the context of a call as the signed-in user.
func (rq *Request) AuthCtx() context.Context { return rq.outgoing(rq.Session.Access) }

// StepUpCtx is the context of a call that needs a fresh password.
func (rq *Request) StepUpCtx() context.Context { return rq.outgoing(rq.Session.Reauth) }

// Login step names (credential.v1.LoginStep) and their pages.
const (
	stepMFA      = "MFA"
	stepTerms    = "ACCEPT_TERMS"
	stepPassword = "CHANGE_PASSWORD"
	stepEnroll   = "ENROLL_MFA"
)

var stepPaths = map[string]string{
	stepMFA:      "/ui/login/code",
	stepTerms:    "/ui/login/terms",
	stepPassword: "/ui/login/password",
	stepEnroll:   "/ui/login/enroll",
}

// loginStep wraps a step's page: only while a log-in waits for that step.
func (s *Server) loginStep(step string, h func(*Request)) func(*Request) {
	return func(rq *Request) {
		if rq.Session.Ticket == "" {
			rq.Redirect("/ui/sign-in")
			return
		}
		if rq.Session.Step != step {
			if p, ok := stepPaths[rq.Session.Step]; ok {
				rq.Redirect(p)
				return
			}
			rq.Session.clearLogin()
			rq.Redirect("/ui/sign-in")
			return
		}
		h(rq)
	}
}

// home is the signed-in landing page.
func (s *Server) home(rq *Request) {
	me, err := rq.Me()
	if err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		rq.APIError(err)
	}
	var data struct {
		Name, Username, Email, Tenant string
		Prompts                       []string
		Admin                         bool
	}
	if me != nil {
		data.Admin = slices.Contains(me.GetAccount().GetRoles(), accountv1.Role_ADMIN)
		a := me.GetAccount()
		data.Name, data.Username, data.Email, data.Tenant = a.GetDisplayName(), a.GetUsername(), a.GetEmail(), me.GetTenantCode()
		for _, p := range me.GetPrompts() {
			data.Prompts = append(data.Prompts, "prompt."+p.String())
		}
	}
	rq.Render("home", data)
}

// signInData is the sign-in form's data.
type signInData struct {
	Tenant, Username string
	Remember         bool
	ForgotURL        string
	KeyURL           string
}

func (s *Server) signInForm(rq *Request) {
	ret := LocalPath(rq.R.URL.Query().Get("return"))
	if rq.Session.SignedIn() {
		if ret == "" {
			ret = "/ui/"
		}
		rq.Redirect(ret)
		return
	}
	if ret != "" {
		rq.Session.Return = ret
	}
	tenant, username := rq.remembered()
	if t := rq.Tenant(); t != "" {
		tenant = t
	}
	s.renderSignIn(rq, signInData{Tenant: tenant, Username: username, Remember: username != ""})
}

func (s *Server) renderSignIn(rq *Request, d signInData) {
	q := ""
	if d.Tenant != "" {
		q = "?tenant=" + urlQueryEscape(d.Tenant)
	}
	d.ForgotURL, d.KeyURL = "/ui/forgot-password"+q, "/ui/request-key"+q
	rq.Render("sign-in", d)
}

// signIn posts the credentials (POST /v1/auth/login).
func (s *Server) signIn(rq *Request) {
	f := rq.R.PostForm
	d := signInData{Tenant: strings.TrimSpace(f.Get("tenant")), Username: strings.TrimSpace(f.Get("username")), Remember: f.Get("remember") != ""}
	password := f.Get("password")
	required(rq, "tenant", d.Tenant)
	required(rq, "username", d.Username)
	required(rq, "password", password)
	if rq.HasErrors() {
		s.renderSignIn(rq, d)
		return
	}
	if d.Remember {
		rq.SetCookie(rememberCookie, base64.RawURLEncoding.EncodeToString([]byte(d.Tenant+"\n"+d.Username)), 365*24*3600)
	} else {
		rq.SetCookie(rememberCookie, "", -1)
	}
	resp, err := s.cfg.Clients.Auth.Login(rq.Ctx(), &credentialv1.LoginRequest{Tenant: d.Tenant, Username: d.Username, Password: password})
	if err != nil {
		e := errorOf(err)
		if e.Kind == errs.KindUnauthenticated {
			// One text for every refusal: wrong code, name or password and
			// a locked or disabled account look alike (API.md).
			rq.Error("signin.failed")
			rq.Status(http.StatusUnauthorized)
		} else {
			rq.APIError(err)
		}
		s.renderSignIn(rq, d)
		return
	}
	rq.Session.signOutKeepReturn()
	// A new CSRF token with each sign-in: one a page learned before
	// stops working.
	rq.Session.CSRF = randomToken()
	rq.Session.Tenant, rq.Session.Username = d.Tenant, d.Username
	s.afterLogin(rq, resp, nil)
}

// loginAnswer is what Login and ContinueLogin answer alike.
type loginAnswer interface {
	GetAccessToken() string
	GetRefreshToken() string
	GetExpiresIn() int32
	GetSessionId() string
	GetNextStep() credentialv1.LoginStep_Value
	GetLoginTicket() string
	GetPasswordRules() *credentialv1.PasswordRules
}

// afterLogin takes a log-in answer: tokens (then the recovery codes, when
// enrolment gave some, else the return page), or the next step.
func (s *Server) afterLogin(rq *Request, a loginAnswer, recoveryCodes []string) {
	if a.GetAccessToken() != "" {
		rq.Session.clearLogin()
		// The cookie's own lifetime (sessionMaxAge) counts from sign-in.
		rq.Session.Created = s.clock.Now().Unix()
		rq.Session.Access, rq.Session.Refresh, rq.Session.SessionID = a.GetAccessToken(), a.GetRefreshToken(), a.GetSessionId()
		rq.Session.AccessExp = s.clock.Now().Unix() + int64(a.GetExpiresIn())
		if len(recoveryCodes) > 0 {
			rq.Render("recovery-codes", map[string]any{"Codes": recoveryCodes})
			return
		}
		ret := LocalPath(rq.Session.Return)
		rq.Session.Return = ""
		if ret == "" {
			ret = "/ui/"
		}
		rq.Redirect(ret)
		return
	}
	step := a.GetNextStep().String()
	p, ok := stepPaths[step]
	if !ok || a.GetLoginTicket() == "" {
		rq.Session.clearLogin()
		rq.Fail(http.StatusBadGateway, "error.internal")
		return
	}
	rq.Session.Ticket, rq.Session.Step = a.GetLoginTicket(), step
	if r := a.GetPasswordRules(); r != nil {
		rq.Session.Rules = rulesOf(r)
	}
	if step != stepEnroll {
		rq.Session.Enroll = nil
	}
	rq.Redirect(p)
}

// continueLogin posts one step's answer (POST /v1/auth/login:continue);
// on a refusal it records the errors and returns false, and a spent or
// expired ticket sends the user back to the sign-in page.
func (s *Server) continueLogin(rq *Request, req *credentialv1.ContinueLoginRequest) (*credentialv1.ContinueLoginResponse, bool) {
	req.LoginTicket = rq.Session.Ticket
	resp, err := s.cfg.Clients.Auth.ContinueLogin(rq.Ctx(), req)
	if err == nil {
		return resp, true
	}
	e := errorOf(err)
	if e.Reason == "LOGIN_TICKET_INVALID" {
		rq.Session.clearLogin()
		rq.Error("signin.expired")
		rq.Status(http.StatusUnauthorized)
		tenant, username := rq.Session.Tenant, rq.Session.Username
		s.renderSignIn(rq, signInData{Tenant: tenant, Username: username})
		return nil, false
	}
	return nil, s.stepError(rq, err)
}

// stepError records a step's refusal; always false.
func (s *Server) stepError(rq *Request, err error) bool {
	e := errorOf(err)
	if e.Reason == "MFA_CODE_INVALID" || e.Reason == "TOTP_CODE_INVALID" {
		rq.FieldError("code", "reason.MFA_CODE_INVALID")
		rq.Status(http.StatusUnauthorized)
		return false
	}
	rq.APIError(err)
	return false
}

// codeForm asks for the authenticator code or a recovery code.
func (s *Server) codeForm(rq *Request) { rq.Render("login-code", nil) }

func (s *Server) code(rq *Request) {
	code := strings.TrimSpace(rq.R.PostForm.Get("code"))
	recovery := strings.TrimSpace(rq.R.PostForm.Get("recovery_code"))
	req := &credentialv1.ContinueLoginRequest{}
	switch {
	case code != "":
		req.Answer = &credentialv1.ContinueLoginRequest_TotpCode{TotpCode: strings.ReplaceAll(code, " ", "")}
	case recovery != "":
		req.Answer = &credentialv1.ContinueLoginRequest_RecoveryCode{RecoveryCode: recovery}
	default:
		rq.FieldError("code", "reason.REQUIRED")
		rq.Render("login-code", nil)
		return
	}
	resp, ok := s.continueLogin(rq, req)
	if !ok {
		if rq.Session.Ticket != "" {
			if recovery != "" && rq.errs.Fields["code"] != "" {
				rq.errs.Fields["recovery_code"] = rq.errs.Fields["code"]
				delete(rq.errs.Fields, "code")
			}
			rq.Render("login-code", nil)
		}
		return
	}
	s.afterLogin(rq, resp, resp.GetRecoveryCodes())
}

// termsForm shows the tenant's current terms (GET /v1/terms).
func (s *Server) termsForm(rq *Request) { s.renderTerms(rq) }

func (s *Server) renderTerms(rq *Request) {
	terms, err := s.cfg.Clients.Account.GetCurrentTerms(rq.Ctx(), &accountv1.GetCurrentTermsRequest{Tenant: rq.Session.Tenant})
	if err != nil {
		rq.APIError(err)
	}
	rq.Render("login-terms", map[string]string{"Version": terms.GetVersion(), "Text": terms.GetText()})
}

func (s *Server) terms(rq *Request) {
	version := rq.R.PostForm.Get("version")
	if rq.R.PostForm.Get("accept") == "" {
		rq.FieldError("accept", "terms.must_accept")
		s.renderTerms(rq)
		return
	}
	resp, ok := s.continueLogin(rq, &credentialv1.ContinueLoginRequest{Answer: &credentialv1.ContinueLoginRequest_AcceptTermsVersion{AcceptTermsVersion: version}})
	if !ok {
		if rq.Session.Ticket != "" {
			s.renderTerms(rq)
		}
		return
	}
	s.afterLogin(rq, resp, resp.GetRecoveryCodes())
}

// newPasswordForm asks for the new password twice, listing the rules.
func (s *Server) newPasswordForm(rq *Request) {
	rq.Render("login-password", passwordData(rq, rq.Session.Rules))
}

func (s *Server) newPassword(rq *Request) {
	pw, ok := newPasswordTwice(rq)
	if !ok {
		rq.Render("login-password", passwordData(rq, rq.Session.Rules))
		return
	}
	resp, ok := s.continueLogin(rq, &credentialv1.ContinueLoginRequest{Answer: &credentialv1.ContinueLoginRequest_NewPassword{NewPassword: pw}})
	if !ok {
		if rq.Session.Ticket != "" {
			rq.Render("login-password", passwordData(rq, rq.Session.Rules))
		}
		return
	}
	s.afterLogin(rq, resp, resp.GetRecoveryCodes())
}

// enrollForm explains the enrolment; with one under way it shows its QR
// code and key again.
func (s *Server) enrollForm(rq *Request) {
	rq.Render("login-enroll", enrollData(rq.Session.Enroll))
}

func enrollData(e *Enrollment) map[string]any {
	if e == nil {
		return map[string]any{"Started": false}
	}
	d := map[string]any{"Started": true, "Secret": groupKey(e.Secret)}
	if len(e.QR) > 0 {
		d["QR"] = dataURL("image/png", e.QR)
	}
	return d
}

// enroll starts the enrolment (action=start) or confirms it with the
// app's first code.
func (s *Server) enroll(rq *Request) {
	if rq.R.PostForm.Get("action") == "start" || rq.Session.Enroll == nil {
		resp, ok := s.continueLogin(rq, &credentialv1.ContinueLoginRequest{Answer: &credentialv1.ContinueLoginRequest_StartTotpEnrollment{StartTotpEnrollment: true}})
		if !ok {
			if rq.Session.Ticket != "" {
				rq.Render("login-enroll", enrollData(rq.Session.Enroll))
			}
			return
		}
		if t := resp.GetLoginTicket(); t != "" {
			rq.Session.Ticket = t
		}
		en := resp.GetTotpEnrollment()
		rq.Session.Enroll = &Enrollment{Secret: en.GetSecret(), QR: en.GetQrPng()}
		if len(en.GetQrPng()) > maxQRInCookie {
			// Too big to keep: shown now, and the key as text after a retry.
			data := enrollData(rq.Session.Enroll)
			rq.Session.Enroll.QR = nil
			rq.Render("login-enroll", data)
			return
		}
		rq.Render("login-enroll", enrollData(rq.Session.Enroll))
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(rq.R.PostForm.Get("code")), " ", "")
	if code == "" {
		rq.FieldError("code", "reason.REQUIRED")
		rq.Render("login-enroll", enrollData(rq.Session.Enroll))
		return
	}
	resp, ok := s.continueLogin(rq, &credentialv1.ContinueLoginRequest{Answer: &credentialv1.ContinueLoginRequest_TotpCode{TotpCode: code}})
	if !ok {
		if rq.Session.Ticket != "" {
			rq.Render("login-enroll", enrollData(rq.Session.Enroll))
		}
		return
	}
	s.afterLogin(rq, resp, resp.GetRecoveryCodes())
}

// maxQRInCookie bounds the QR image kept in the session cookie, which a
// browser caps at about 4 KB.
const maxQRInCookie = 1500

// loginDone is "I saved them" on the recovery codes page.
func (s *Server) loginDone(rq *Request) {
	ret := LocalPath(rq.Session.Return)
	rq.Session.Return = ""
	if ret == "" {
		ret = "/ui/"
	}
	rq.Redirect(ret)
}

// signOut ends the session (POST /v1/auth/logout) and forgets it.
func (s *Server) signOut(rq *Request) {
	if rq.Session.Refresh != "" {
		if _, err := s.cfg.Clients.Auth.Logout(rq.Ctx(), &credentialv1.LogoutRequest{RefreshToken: rq.Session.Refresh}); err != nil {
			// A session that had already ended (an expired or spent
			// refresh token) is the usual case, not a fault.
			s.log.Log(rq.Ctx(), grpcx.HopLevel(status.Code(err)), "ui: logout", "err", err)
		}
	}
	tenant := rq.Session.Tenant
	rq.Session.signOut()
	rq.Session.CSRF = randomToken()
	q := ""
	if tenant != "" {
		q = "?tenant=" + urlQueryEscape(tenant)
	}
	rq.Redirect("/ui/sign-in" + q)
}

// reauthForm asks for the password again (and the code, with two-step
// verification on) before security settings.
func (s *Server) reauthForm(rq *Request) {
	if ret := LocalPath(rq.R.URL.Query().Get("return")); ret != "" {
		rq.Session.Return = ret
	}
	rq.Render("reauth", map[string]any{"TOTP": s.hasTOTP(rq)})
}

func (s *Server) hasTOTP(rq *Request) bool {
	me, err := rq.Me()
	return err == nil && me.GetSecurity().GetTotpEnabled()
}

// Me is GET /v1/me for the signed-in user (account, roles, tenant code,
// prompts, security summary), asked once per request.
func (rq *Request) Me() (*accountv1.GetMeResponse, error) {
	if rq.me == nil && rq.meErr == nil {
		rq.me, rq.meErr = rq.s.cfg.Clients.Account.GetMe(rq.AuthCtx(), &accountv1.GetMeRequest{})
	}
	return rq.me, rq.meErr
}

func (s *Server) reauth(rq *Request) {
	pw := rq.R.PostForm.Get("password")
	code := strings.ReplaceAll(strings.TrimSpace(rq.R.PostForm.Get("code")), " ", "")
	required(rq, "password", pw)
	if rq.HasErrors() {
		rq.Render("reauth", map[string]any{"TOTP": s.hasTOTP(rq)})
		return
	}
	req := &credentialv1.ReauthenticateRequest{Password: pw}
	if code != "" {
		req.TotpCode = &code
	}
	resp, err := s.cfg.Clients.Auth.Reauthenticate(rq.AuthCtx(), req)
	if err != nil {
		e := errorOf(err)
		if e.Kind == errs.KindUnauthenticated || e.Kind == errs.KindPermissionDenied {
			rq.Error("reauth.failed")
			rq.Status(http.StatusUnauthorized)
		} else {
			rq.APIError(err)
		}
		rq.Render("reauth", map[string]any{"TOTP": s.hasTOTP(rq)})
		return
	}
	rq.Session.Reauth = resp.GetAccessToken()
	// The fresh token admits security calls for 5 minutes (API.md), however
	// long it lives as an access token.
	rq.Session.ReauthExp = s.clock.Now().Unix() + min(int64(resp.GetExpiresIn()), int64(stepUpWindow/time.Second))
	ret := LocalPath(rq.Session.Return)
	rq.Session.Return = ""
	if ret == "" {
		ret = "/ui/"
	}
	rq.Redirect(ret)
}
