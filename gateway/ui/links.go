package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/libs/errs"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// Link kinds: the page an e-mailed link's token belongs to.
const (
	linkActivate = "activate"
	linkReset    = "reset"
)

// takeLinkToken moves ?token= of an e-mailed link into the sealed session
// and redirects to the same page without it, so the token is neither left
// in the address bar and history nor sent on in a Referer. It reports
// whether it redirected.
func (rq *Request) takeLinkToken(kind, path string) bool {
	tok := rq.R.URL.Query().Get("token")
	if tok == "" {
		return false
	}
	if len(tok) > 512 {
		tok = ""
	}
	rq.Session.clearLink()
	rq.Session.LinkToken, rq.Session.LinkKind = tok, kind
	// The company code and language of the link stay (brand, language,
	// password rules); nothing else of it does.
	q := url.Values{}
	if t := cleanCode(rq.R.URL.Query().Get("tenant")); t != "" {
		q.Set("tenant", t)
	}
	if l := rq.R.URL.Query().Get("lang"); rq.s.messages.has(l) {
		q.Set("lang", l)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	rq.Redirect(path)
	return true
}

// linkToken is the session's token for kind, "" when there is none (the
// page then says the link is incomplete or was already used).
func (rq *Request) linkToken(kind string) string {
	if rq.Session.LinkKind != kind {
		return ""
	}
	return rq.Session.LinkToken
}

// linkGone answers a page whose link token is missing, used or expired.
func (rq *Request) linkGone() {
	rq.Session.clearLink()
	rq.Fail(http.StatusBadRequest, "link.invalid")
}

// linkRefused handles an error of a link call that says the link (or the
// reset ticket it gave) is no good: a used, expired or unknown link ends
// the page; an expired reset ticket asks for the proof again. It reports
// whether the page is already answered; any other error is the caller's.
func (rq *Request) linkRefused(err error) bool {
	switch errorOf(err).Reason {
	case "LINK_TOKEN_INVALID":
		rq.linkGone()
		return true
	case "RESET_TICKET_INVALID":
		rq.Session.ResetTicket = ""
		rq.Redirect("/ui/reset-password")
		return true
	}
	return false
}

// activateForm sets the first password of an invited account.
func (s *Server) activateForm(rq *Request) {
	if rq.takeLinkToken(linkActivate, "/ui/activate") {
		return
	}
	if rq.linkToken(linkActivate) == "" {
		rq.linkGone()
		return
	}
	rq.Render("activate", s.passwordRules(rq))
}

func (s *Server) activate(rq *Request) {
	tok := rq.linkToken(linkActivate)
	if tok == "" {
		rq.linkGone()
		return
	}
	pw, ok := newPasswordTwice(rq)
	if !ok {
		rq.Render("activate", s.passwordRules(rq))
		return
	}
	resp, err := s.cfg.Clients.Recovery.CompleteActivation(rq.Ctx(), &recoveryv1.CompleteActivationRequest{Token: tok, NewPassword: pw})
	if err != nil {
		if rq.linkRefused(err) {
			return
		}
		rq.APIError(err)
		rq.Render("activate", s.passwordRules(rq))
		return
	}
	rq.Session.clearLink()
	rq.Session.Notice = "activate.done"
	rq.Redirect("/ui/sign-in?tenant=" + urlQueryEscape(resp.GetTenantCode()))
}

// passwordRules are the tenant's rules when the page knows the tenant.
func (s *Server) passwordRules(rq *Request) PasswordForm {
	if a := rq.Appearance(); a != nil {
		return passwordData(rq, rulesOf(a.GetPasswordRules()))
	}
	return PasswordForm{}
}

// recoveryRequest is the data of the forgot-password and request-key forms.
type recoveryRequest struct{ Tenant, Login string }

func (s *Server) forgotForm(rq *Request) {
	rq.Render("forgot-password", recoveryRequest{Tenant: rq.Tenant()})
}

// forgot asks for a reset link (POST /v1/recovery/password-reset): the
// same answer whether or not the account exists.
func (s *Server) forgot(rq *Request) {
	d, ok := readRecoveryRequest(rq)
	if !ok {
		rq.Render("forgot-password", d)
		return
	}
	if _, err := s.cfg.Clients.Recovery.RequestPasswordReset(rq.Ctx(), &recoveryv1.RequestPasswordResetRequest{Tenant: d.Tenant, Login: d.Login}); err != nil {
		rq.APIError(err)
		rq.Render("forgot-password", d)
		return
	}
	rq.Status(http.StatusAccepted)
	rq.Render("sent", map[string]string{"Message": "forgot.sent", "Tenant": d.Tenant})
}

func readRecoveryRequest(rq *Request) (recoveryRequest, bool) {
	d := recoveryRequest{Tenant: strings.TrimSpace(rq.R.PostForm.Get("tenant")), Login: strings.TrimSpace(rq.R.PostForm.Get("login"))}
	required(rq, "tenant", d.Tenant)
	required(rq, "login", d.Login)
	return d, !rq.HasErrors()
}

func (s *Server) keyRequestForm(rq *Request) {
	rq.Render("request-key", recoveryRequest{Tenant: rq.Tenant()})
}

// keyRequest asks for an authenticator key by e-mail (POST
// /v1/mfa/key-requests), answered alike whether or not the account exists.
func (s *Server) keyRequest(rq *Request) {
	d, ok := readRecoveryRequest(rq)
	if !ok {
		rq.Render("request-key", d)
		return
	}
	if _, err := s.cfg.Clients.MFA.RequestKey(rq.Ctx(), &mfav1.RequestKeyRequest{Tenant: d.Tenant, Login: d.Login}); err != nil {
		rq.APIError(err)
		rq.Render("request-key", d)
		return
	}
	rq.Status(http.StatusAccepted)
	rq.Render("sent", map[string]string{"Message": "key.sent", "Tenant": d.Tenant})
}

// resetData is the reset page's data: the proof asked first (code,
// questions), then the new password.
type resetData struct {
	NeedCode  bool
	Questions []string
	Verified  bool
	// Username is the link's account, in a hidden field so that password
	// managers save the new password under it.
	Username string
	PasswordForm
}

// resetForm inspects the link (without spending it) and asks for what the
// reset requires.
func (s *Server) resetForm(rq *Request) {
	if rq.takeLinkToken(linkReset, "/ui/reset-password") {
		return
	}
	d, ok := s.inspectReset(rq)
	if !ok {
		return
	}
	rq.Render("reset-password", d)
}

func (s *Server) inspectReset(rq *Request) (resetData, bool) {
	tok := rq.linkToken(linkReset)
	if tok == "" {
		rq.linkGone()
		return resetData{}, false
	}
	in, err := s.cfg.Clients.Recovery.InspectPasswordReset(rq.Ctx(), &recoveryv1.InspectPasswordResetRequest{Token: tok})
	if err != nil {
		if !rq.linkRefused(err) {
			rq.APIError(err)
			rq.Render("reset-password", resetData{})
		}
		return resetData{}, false
	}
	d := resetData{PasswordForm: passwordData(rq, rulesOf(in.GetPasswordRules())), Verified: rq.Session.ResetTicket != "", Username: in.GetUsername()}
	for _, r := range in.GetRequires() {
		switch r {
		case recoveryv1.ResetRequirement_TOTP_CODE:
			d.NeedCode = true
		case recoveryv1.ResetRequirement_SECURITY_ANSWERS:
			d.Questions = in.GetQuestions()
		}
	}
	if !d.NeedCode && len(d.Questions) == 0 {
		d.Verified = true
	}
	return d, true
}

// reset takes the proof (code, answers) for a reset ticket, or the new
// password.
func (s *Server) reset(rq *Request) {
	d, ok := s.inspectReset(rq)
	if !ok {
		return
	}
	tok := rq.linkToken(linkReset)
	if !d.Verified {
		req := &recoveryv1.VerifyPasswordResetRequest{Token: tok}
		if d.NeedCode {
			code := strings.ReplaceAll(strings.TrimSpace(rq.R.PostForm.Get("code")), " ", "")
			required(rq, "code", code)
			req.TotpCode = &code
		}
		for i, q := range d.Questions {
			a := rq.R.PostForm.Get(answerField(i))
			required(rq, answerField(i), a)
			req.Answers = append(req.Answers, &recoveryv1.SecurityAnswer{Question: q, Answer: a})
		}
		if rq.HasErrors() {
			rq.Render("reset-password", d)
			return
		}
		resp, err := s.cfg.Clients.Recovery.VerifyPasswordReset(rq.Ctx(), req)
		if err != nil {
			if rq.linkRefused(err) {
				return
			}
			e := errorOf(err)
			if e.Kind == errs.KindUnauthenticated || e.Kind == errs.KindPermissionDenied {
				rq.Error("reset.proof_failed")
				rq.Status(http.StatusUnauthorized)
			} else {
				rq.APIError(err)
			}
			rq.Render("reset-password", d)
			return
		}
		rq.Session.ResetTicket = resp.GetResetTicket()
		rq.Redirect("/ui/reset-password")
		return
	}
	pw, ok := newPasswordTwice(rq)
	if !ok {
		rq.Render("reset-password", d)
		return
	}
	req := &recoveryv1.CompletePasswordResetRequest{NewPassword: pw}
	if rq.Session.ResetTicket != "" {
		req.Proof = &recoveryv1.CompletePasswordResetRequest_ResetTicket{ResetTicket: rq.Session.ResetTicket}
	} else {
		req.Proof = &recoveryv1.CompletePasswordResetRequest_Token{Token: tok}
	}
	resp, err := s.cfg.Clients.Recovery.CompletePasswordReset(rq.Ctx(), req)
	if err != nil {
		if rq.linkRefused(err) {
			return
		}
		rq.APIError(err)
		rq.Render("reset-password", d)
		return
	}
	rq.Session.clearLink()
	rq.Session.Notice = "reset.done"
	rq.Redirect("/ui/sign-in?tenant=" + urlQueryEscape(resp.GetTenantCode()))
}

// answerField is the form field of the i-th security answer.
func answerField(i int) string { return "answer" + strconv.Itoa(i+1) }
