package ui

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// The security settings: every page is behind a fresh password (StepUp),
// and every change is made with the step-up token (StepUpCtx). Each form
// posts to its own path; a GET of that path (where StepUp sends the
// browser back after /ui/reauth) shows the settings page again.
func (s *Server) settingsRoutes() {
	s.Handle("GET /ui/settings", s.StepUp(s.settings))
	s.Handle("GET /ui/settings/{what...}", s.StepUp(s.settingsAgain))
	s.Handle("POST /ui/settings/password", s.StepUp(s.settingsPassword))
	s.Handle("POST /ui/settings/pin", s.StepUp(s.settingsPin))
	s.Handle("POST /ui/settings/mfa/enroll", s.StepUp(s.settingsEnroll))
	s.Handle("POST /ui/settings/mfa/confirm", s.StepUp(s.settingsConfirm))
	s.Handle("POST /ui/settings/mfa/disable", s.StepUp(s.settingsDisableTOTP))
	s.Handle("POST /ui/settings/mfa/codes", s.StepUp(s.settingsNewCodes))
	s.Handle("POST /ui/settings/questions", s.StepUp(s.settingsQuestions))
	s.Handle("POST /ui/settings/sessions/revoke", s.StepUp(s.settingsRevoke))
	s.Handle("POST /ui/settings/done", s.StepUp(s.settingsDone))
}

// settingsData is the settings page's data.
type settingsData struct {
	PasswordForm
	TOTP       bool
	CodesLeft  int32
	PinEnabled bool
	// PinSet: changing the PIN takes the current one, unless the user
	// chose to confirm with the password instead (PinByPassword).
	PinSet         bool
	PinByPassword  bool
	Questions      []questionRow
	QuestionsCount int
	QuestionsSet   bool
	Sessions       []sessionRow
	Until          string
}

// questionRow is one question of the security questions form (its
// errors are the form's, by field name questionN / answerN).
type questionRow struct {
	N        int
	Question string
}

// sessionRow is one session (a device) of the sessions table.
type sessionRow struct {
	ID, Device, IP, Started, LastUsed string
	Current                           bool
}

// settings shows every section with its form.
func (s *Server) settings(rq *Request) { s.renderSettings(rq, nil) }

// settingsAgain answers a GET of a form's path: the settings page, or the
// authenticator enrolment under way.
func (s *Server) settingsAgain(rq *Request) {
	if rq.R.PathValue("what") == "mfa/confirm" && rq.Session.Enroll != nil {
		rq.Render("settings-enroll", enrollData(rq.Session.Enroll))
		return
	}
	rq.Redirect("/ui/settings")
}

// renderSettings reads what the page shows (as the signed-in user) and
// renders it; posted, when given, are the security questions as typed.
func (s *Server) renderSettings(rq *Request, posted []questionRow) {
	c := s.cfg.Clients
	var d settingsData
	ctx := rq.AuthCtx()
	if me, err := c.Account.GetMe(ctx, &accountv1.GetMeRequest{}); err == nil {
		d.TOTP = me.GetSecurity().GetTotpEnabled()
		d.PinSet = me.GetSecurity().GetPinSet()
	} else if rq.HandleAuthError(err) {
		return
	}
	d.PinByPassword = rq.R.URL.Query().Get("pin") == "password" || rq.R.PostForm.Has("pin_password")
	if a := rq.Appearance(); a != nil {
		d.PasswordForm = passwordData(rq, rulesOf(a.GetPasswordRules()))
		d.PinEnabled = a.GetPinEnabled()
	}
	if d.TOTP {
		if f, err := c.MFA.ListFactors(ctx, &mfav1.ListFactorsRequest{}); err == nil {
			d.CodesLeft = f.GetRecoveryCodesRemaining()
		}
	}
	if st, err := c.Recovery.GetRecoveryStatus(ctx, &recoveryv1.GetRecoveryStatusRequest{}); err == nil && st.GetSecurityQuestionsRequired() > 0 {
		d.QuestionsSet = st.GetSecurityQuestionsSet()
		d.QuestionsCount = max(int(st.GetSecurityQuestionsRequired()), len(st.GetQuestions()))
		for i := range d.QuestionsCount {
			q := questionRow{N: i + 1}
			if i < len(st.GetQuestions()) {
				q.Question = st.GetQuestions()[i]
			}
			if i < len(posted) {
				q = posted[i]
			}
			d.Questions = append(d.Questions, q)
		}
	}
	if ls, err := c.Credential.ListSessions(ctx, &credentialv1.ListSessionsRequest{PageSize: 50}); err == nil {
		for _, x := range ls.GetSessions() {
			row := sessionRow{ID: x.GetId(), Device: x.GetDeviceName(), IP: x.GetIp(), Current: x.GetCurrent() || x.GetId() == rq.Session.SessionID}
			if row.Device == "" {
				row.Device = shortAgent(x.GetUserAgent())
			}
			if row.Device == "" {
				row.Device = rq.T("settings.sessions.unnamed")
			}
			row.Started = formatTime(x.GetCreateTime().AsTime())
			if x.GetLastUseTime() != nil {
				row.LastUsed = formatTime(x.GetLastUseTime().AsTime())
			}
			d.Sessions = append(d.Sessions, row)
		}
	}
	if rq.Session.ReauthExp > 0 {
		d.Until = time.Unix(rq.Session.ReauthExp, 0).UTC().Format("15:04 UTC")
	}
	rq.Render("settings", d)
}

// settingsFailed shows a refused change on the settings page.
func (s *Server) settingsFailed(rq *Request, err error) {
	if rq.HandleAuthError(err) {
		return
	}
	rq.APIError(err)
	s.renderSettings(rq, nil)
}

// settingsPassword changes the password: the current one, the new one twice.
func (s *Server) settingsPassword(rq *Request) {
	cur := rq.R.PostForm.Get("current_password")
	required(rq, "current_password", cur)
	pw, ok := newPasswordTwice(rq)
	if !ok || rq.HasErrors() {
		s.renderSettings(rq, nil)
		return
	}
	if _, err := s.cfg.Clients.Credential.ChangePassword(rq.StepUpCtx(), &credentialv1.ChangePasswordRequest{CurrentPassword: cur, NewPassword: pw}); err != nil {
		s.settingsFailed(rq, err)
		return
	}
	rq.Session.Notice = "settings.password.done"
	rq.Redirect("/ui/settings")
}

var digitsOnly = regexp.MustCompile(`^[0-9]+$`)

// settingsPin sets or changes the PIN. The current PIN confirms a change
// (as on a device); the password confirms a first PIN, or a change by a
// user who forgot the PIN (the API takes either).
func (s *Server) settingsPin(rq *Request) {
	f := rq.R.PostForm
	pin, again := strings.TrimSpace(f.Get("new_pin")), strings.TrimSpace(f.Get("new_pin_again"))
	req := &credentialv1.SetPinRequest{NewPin: pin}
	if f.Has("current_pin") {
		cur := strings.TrimSpace(f.Get("current_pin"))
		required(rq, "current_pin", cur)
		req.CurrentPin = &cur
	} else {
		cur := f.Get("pin_password")
		required(rq, "pin_password", cur)
		req.CurrentPassword = &cur
	}
	required(rq, "new_pin", pin)
	required(rq, "new_pin_again", again)
	if pin != "" && !digitsOnly.MatchString(pin) {
		rq.FieldError("new_pin", "settings.pin.digits")
	}
	if !rq.HasErrors() && pin != again {
		rq.FieldError("new_pin_again", "settings.pin.mismatch")
	}
	if rq.HasErrors() {
		s.renderSettings(rq, nil)
		return
	}
	if _, err := s.cfg.Clients.Credential.SetPin(rq.StepUpCtx(), req); err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		// The password field of this form is not the password form's.
		if !fieldErrorsAs(rq, err, map[string]string{"currentPassword": "pin_password", "currentPin": "current_pin", "newPin": "new_pin"}) {
			rq.APIError(err)
		}
		s.renderSettings(rq, nil)
		return
	}
	rq.Session.Notice = "settings.pin.done"
	rq.Redirect("/ui/settings")
}

// fieldErrorsAs places an InvalidArgument's field violations on the
// form's fields named by names (API field → form field); false when the
// error is another kind or names none of them.
func fieldErrorsAs(rq *Request, err error, names map[string]string) bool {
	e := errorOf(err)
	if e.Kind != errs.KindInvalid && e.Kind != errs.KindConflict {
		return false
	}
	placed := false
	for _, f := range e.Fields {
		if name, ok := names[f.Field]; ok {
			rq.FieldError(name, rq.reasonKey(f.Reason, "reason.INVALID"))
			placed = true
		}
	}
	return placed
}

// settingsEnroll starts an authenticator enrolment: the QR code (a data:
// image) and the key as text, then the app's first code.
func (s *Server) settingsEnroll(rq *Request) {
	resp, err := s.cfg.Clients.MFA.EnrollTotp(rq.StepUpCtx(), &mfav1.EnrollTotpRequest{})
	if err != nil {
		s.settingsFailed(rq, err)
		return
	}
	data := enrollData(&Enrollment{Secret: resp.GetSecret(), QR: resp.GetQrPng()})
	// The session keeps the key only: with three tokens in it already, the
	// QR image would take the cookie near the 4 KB browsers keep. The QR is
	// shown now; after a mistyped code, the key as text.
	rq.Session.Enroll = &Enrollment{Secret: resp.GetSecret()}
	rq.Render("settings-enroll", data)
}

// settingsConfirm confirms the enrolment with the app's first code and
// shows the recovery codes, once.
func (s *Server) settingsConfirm(rq *Request) {
	if rq.Session.Enroll == nil {
		rq.Redirect("/ui/settings")
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(rq.R.PostForm.Get("code")), " ", "")
	if code == "" {
		rq.FieldError("code", "reason.REQUIRED")
		rq.Render("settings-enroll", enrollData(rq.Session.Enroll))
		return
	}
	resp, err := s.cfg.Clients.MFA.ConfirmTotp(rq.StepUpCtx(), &mfav1.ConfirmTotpRequest{Code: code})
	if err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		switch errorOf(err).Kind {
		case errs.KindInvalid:
			rq.FieldError("code", "settings.enroll.wrong")
		case errs.KindFailedPrecondition:
			// Too many wrong codes (or none waiting): this enrolment is
			// over; the settings page offers a new one.
			rq.Session.Enroll = nil
			rq.APIError(err)
			s.renderSettings(rq, nil)
			return
		default:
			rq.APIError(err)
		}
		rq.Render("settings-enroll", enrollData(rq.Session.Enroll))
		return
	}
	rq.Session.Enroll = nil
	rq.Session.Notice = "settings.mfa.enabled"
	rq.Render("settings-codes", map[string]any{"Codes": resp.GetRecoveryCodes()})
}

// settingsDisableTOTP turns two-step verification off.
func (s *Server) settingsDisableTOTP(rq *Request) {
	if _, err := s.cfg.Clients.MFA.DisableTotp(rq.StepUpCtx(), &mfav1.DisableTotpRequest{}); err != nil {
		s.settingsFailed(rq, err)
		return
	}
	rq.Session.Notice = "settings.mfa.disabled"
	rq.Redirect("/ui/settings")
}

// settingsNewCodes replaces the recovery codes and shows the new ones once.
func (s *Server) settingsNewCodes(rq *Request) {
	resp, err := s.cfg.Clients.MFA.RegenerateRecoveryCodes(rq.StepUpCtx(), &mfav1.RegenerateRecoveryCodesRequest{})
	if err != nil {
		s.settingsFailed(rq, err)
		return
	}
	rq.Render("settings-codes", map[string]any{"Codes": resp.GetRecoveryCodes()})
}

// settingsDone is "I saved them" on the recovery codes page.
func (s *Server) settingsDone(rq *Request) { rq.Redirect("/ui/settings") }

// questionPath reads the API's field path of a security question
// ("questions[1].answer").
var questionPath = regexp.MustCompile(`^questions\[(\d+)\]\.(question|answer)$`)

// settingsQuestions saves the user's own security questions (as many as
// the policy requires; all of them replace the old ones).
func (s *Server) settingsQuestions(rq *Request) {
	n, _ := strconv.Atoi(rq.R.PostForm.Get("count"))
	n = min(max(n, 1), 10)
	var rows []questionRow
	req := &recoveryv1.SetSecurityQuestionsRequest{}
	for i := 1; i <= n; i++ {
		q := strings.TrimSpace(rq.R.PostForm.Get("question" + strconv.Itoa(i)))
		a := rq.R.PostForm.Get("answer" + strconv.Itoa(i))
		required(rq, "question"+strconv.Itoa(i), q)
		required(rq, "answer"+strconv.Itoa(i), a)
		rows = append(rows, questionRow{N: i, Question: q})
		req.Questions = append(req.Questions, &recoveryv1.SecurityAnswer{Question: q, Answer: a})
	}
	if !rq.HasErrors() {
		_, err := s.cfg.Clients.Recovery.SetSecurityQuestions(rq.StepUpCtx(), req)
		if err == nil {
			rq.Session.Notice = "settings.questions.done"
			rq.Redirect("/ui/settings")
			return
		}
		if rq.HandleAuthError(err) {
			return
		}
		e := errorOf(err)
		placed := false
		if e.Kind == errs.KindInvalid {
			for _, f := range e.Fields {
				if m := questionPath.FindStringSubmatch(f.Field); m != nil {
					i, _ := strconv.Atoi(m[1])
					rq.FieldError(m[2]+strconv.Itoa(i+1), rq.reasonKey(f.Reason, "reason.INVALID"))
					placed = true
				}
			}
		}
		if !placed {
			rq.APIError(err)
		}
	}
	s.renderSettings(rq, rows)
}

// settingsRevoke signs out one session (a device); signing out this
// browser's own session ends the page's session too.
func (s *Server) settingsRevoke(rq *Request) {
	id := rq.R.PostForm.Get("id")
	if id == "" {
		rq.Redirect("/ui/settings")
		return
	}
	if _, err := s.cfg.Clients.Credential.RevokeSession(rq.StepUpCtx(), &credentialv1.RevokeSessionRequest{Id: id}); err != nil {
		s.settingsFailed(rq, err)
		return
	}
	if id == rq.Session.SessionID {
		tenant := rq.Session.Tenant
		rq.Session.signOut()
		rq.Session.CSRF = randomToken()
		rq.Redirect("/ui/sign-in?tenant=" + urlQueryEscape(tenant))
		return
	}
	rq.Session.Notice = "settings.sessions.done"
	rq.Redirect("/ui/settings")
}

// formatTime writes a time for the tables (UTC: the page does not know the
// user's zone).
func formatTime(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// shortAgent names a browser from its User-Agent, roughly.
func shortAgent(ua string) string {
	for _, name := range []string{"Edg", "Firefox", "Chrome", "Safari"} {
		if strings.Contains(ua, name+"/") {
			if name == "Edg" {
				return "Edge"
			}
			return name
		}
	}
	if len(ua) > 40 {
		return ua[:40] + "…"
	}
	return ua
}
