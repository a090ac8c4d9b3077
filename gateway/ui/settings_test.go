package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// Every settings path: without a session to sign-in, without a fresh
// password to /ui/reauth (then back), and no call made.
func TestSettings_SignInAndStepUpRequired(t *testing.T) {
	f, ts := newAPITestServer(t)
	anon := ts.browser()
	wantRedirect(t, anon.get("/ui/settings"), "/ui/sign-in")
	stale := ts.signedIn(false)
	wantRedirect(t, stale.get("/ui/settings"), "/ui/reauth?return=%2Fui%2Fsettings")
	for _, path := range []string{"/ui/settings/password", "/ui/settings/pin", "/ui/settings/mfa/enroll", "/ui/settings/mfa/confirm",
		"/ui/settings/mfa/disable", "/ui/settings/mfa/codes", "/ui/settings/questions", "/ui/settings/sessions/revoke"} {
		tok := csrfOf(stale.get("/ui/reauth").Body)
		p := stale.post(path, url.Values{CSRFField: {tok}, "id": {"x"}})
		wantRedirect(t, p, "/ui/reauth?return="+url.QueryEscape(path))
		// After the password, the GET of that path shows the settings.
		wantRedirect(t, ts.signedIn(true).get(path), "/ui/settings")
	}
	for _, m := range []string{"ChangePassword", "SetPin", "EnrollTotp", "ConfirmTotp", "DisableTotp", "RegenerateRecoveryCodes", "SetSecurityQuestions", "RevokeSession"} {
		if n := len(f.called(m)); n != 0 {
			t.Errorf("%s called %d times without a step-up", m, n)
		}
	}
}

// The step-up page (/ui/reauth) asks the code too when the account has
// TOTP, keeps the fresh token and comes back to the settings, whose
// changes then go with it.
func TestSettings_StepUpThenBack(t *testing.T) {
	f, ts := newAPITestServer(t)
	f.totp = true
	b := ts.signedIn(false)
	wantRedirect(t, b.get("/ui/settings"), "/ui/reauth?return=%2Fui%2Fsettings")
	form := b.get("/ui/reauth?return=%2Fui%2Fsettings")
	wantContains(t, form, `autocomplete="current-password"`, `autocomplete="one-time-code"`)
	wantRedirect(t, b.post("/ui/reauth", url.Values{CSRFField: {csrfOf(form.Body)}, "password": {"right"}, "code": {"123 456"}}), "/ui/settings")
	page := b.get("/ui/settings")
	wantStatus(t, page, http.StatusOK)
	// Reads are made with the session's token, changes with the fresh one.
	if c := f.called("ListSessions"); len(c) == 0 || c[0].Bearer != "access" {
		t.Fatalf("ListSessions calls %v", c)
	}
	wantRedirect(t, b.post("/ui/settings/mfa/disable", url.Values{CSRFField: {csrfOf(page.Body)}}), "/ui/settings")
	if c := f.only(t, "DisableTotp"); c.Bearer != "fresh" {
		t.Fatalf("DisableTotp as %q, want the step-up token", c.Bearer)
	}
}

func TestSettings_PageShowsEverySection(t *testing.T) {
	f, ts := newAPITestServer(t)
	f.totp, f.questions = true, 2
	withPIN(ts)
	p := ts.signedIn(true).get("/ui/settings")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p,
		`action="/ui/settings/password"`, `autocomplete="current-password"`, `autocomplete="new-password"`, `data-rule="length"`,
		`action="/ui/settings/pin"`, `inputmode="numeric"`,
		`action="/ui/settings/mfa/disable"`, `action="/ui/settings/mfa/codes"`, "Recovery codes left: 7",
		`action="/ui/settings/questions"`, `name="question2"`, `value="First pet?"`, `name="answer2"`,
		"Ann&#39;s phone", "Firefox", "(This browser)", `name="id" value="sess-phone"`)
	if n := strings.Count(p.Body, "<form"); strings.Count(p.Body, `name="csrf"`) != n {
		t.Errorf("%d forms but %d CSRF fields", n, strings.Count(p.Body, `name="csrf"`))
	}
	if nl := ts.signedIn(true).get("/ui/settings?lang=nl"); !strings.Contains(nl.Body, "Beveiligingsinstellingen") || !strings.Contains(nl.Body, "Wachtwoord wijzigen") {
		t.Errorf("Dutch page:\n%s", nl.Body)
	}
}

func TestSettings_ChangePassword(t *testing.T) {
	f, ts := newAPITestServer(t)
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)

	// No CSRF token: refused, nothing called.
	wantStatus(t, b.post("/ui/settings/password", url.Values{"current_password": {"old"}, "new_password": {"New-pass-1"}, "new_password_again": {"New-pass-1"}}), http.StatusForbidden)
	// The two differ: the error next to the second field, nothing called.
	p := b.post("/ui/settings/password", url.Values{CSRFField: {tok}, "current_password": {"old"}, "new_password": {"New-pass-1"}, "new_password_again": {"New-pass-2"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `role="alert"`, `id="e-new_password_again"`, `aria-describedby="e-new_password_again"`, `aria-invalid="true"`)
	if len(f.called("ChangePassword")) != 0 {
		t.Fatal("ChangePassword called with differing passwords")
	}
	// The service refuses the current password: shown next to it.
	f.fail["ChangePassword"] = grpcErr(errs.Invalid(errs.Field("current_password", "PASSWORD_WRONG", "wrong")))
	p = b.post("/ui/settings/password", url.Values{CSRFField: {tok}, "current_password": {"bad"}, "new_password": {"New-pass-1"}, "new_password_again": {"New-pass-1"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-current_password"`, "The password is wrong.")
	delete(f.fail, "ChangePassword")

	wantRedirect(t, b.post("/ui/settings/password", url.Values{CSRFField: {tok}, "current_password": {"old"}, "new_password": {"New-pass-1"}, "new_password_again": {"New-pass-1"}}), "/ui/settings")
	calls := f.called("ChangePassword")
	c := calls[len(calls)-1]
	if in := c.Req.(*credentialv1.ChangePasswordRequest); in.GetCurrentPassword() != "old" || in.GetNewPassword() != "New-pass-1" || c.Bearer != "fresh-token" {
		t.Fatalf("ChangePassword %v as %q, want the step-up token", in, c.Bearer)
	}
	wantContains(t, b.get("/ui/settings"), "Your password has been changed.")
}

// A step-up token the service finds too old sends the user to the
// password page again.
func TestSettings_ReauthenticationRequiredGoesToReauth(t *testing.T) {
	f, ts := newAPITestServer(t)
	f.fail["DisableTotp"] = grpcErr(errs.PermissionDenied(authn.ReasonReauthenticationRequired, "again"))
	b := ts.signedIn(true)
	p := b.post("/ui/settings/mfa/disable", url.Values{CSRFField: {csrfOf(b.get("/ui/settings").Body)}})
	wantRedirect(t, p, "/ui/reauth?return=%2Fui%2Fsettings%2Fmfa%2Fdisable")
	// The step-up is forgotten: the settings wait for the password again.
	wantRedirect(t, b.get("/ui/settings/mfa/disable"), "/ui/reauth?return=%2Fui%2Fsettings%2Fmfa%2Fdisable")
}

func TestSettings_PIN(t *testing.T) {
	f, ts := newAPITestServer(t)
	withPIN(ts)
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	p := b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "pin_password": {"pw"}, "new_pin": {"12a4"}, "new_pin_again": {"12a4"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-new_pin"`)
	// A wrong password lands on this form's password field.
	f.fail["SetPin"] = grpcErr(errs.Invalid(errs.Field("currentPassword", "PASSWORD_WRONG", "wrong")))
	p = b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "pin_password": {"bad"}, "new_pin": {"1234"}, "new_pin_again": {"1234"}})
	wantContains(t, p, `id="e-pin_password"`, "The password is wrong.")
	if strings.Contains(p.Body, `id="e-current_password"`) {
		t.Error("the PIN form's error shown at the password form")
	}
	delete(f.fail, "SetPin")
	wantRedirect(t, b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "pin_password": {"pw"}, "new_pin": {"1234"}, "new_pin_again": {"1234"}}), "/ui/settings")
	calls := f.called("SetPin")
	c := calls[len(calls)-1]
	if in := c.Req.(*credentialv1.SetPinRequest); in.GetCurrentPassword() != "pw" || in.GetNewPin() != "1234" || c.Bearer != "fresh-token" {
		t.Fatalf("SetPin %v as %q", in, c.Bearer)
	}
}

// A PIN already set is changed with the current PIN, as on a device; a
// user who forgot it confirms with the password instead.
func TestSettings_PIN_ChangedWithTheCurrentPIN(t *testing.T) {
	f, ts := newAPITestServer(t)
	withPIN(ts)
	f.pinSet = true
	b := ts.signedIn(true)
	page := b.get("/ui/settings")
	wantContains(t, page, `name="current_pin"`, `href="/ui/settings?pin=password#pin"`)
	if strings.Contains(page.Body, `name="pin_password"`) {
		t.Fatal("the PIN form asks the password while a PIN is set")
	}
	tok := csrfOf(page.Body)
	f.fail["SetPin"] = grpcErr(errs.Invalid(errs.Field("currentPin", "PIN_WRONG", "wrong")))
	p := b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "current_pin": {"1111"}, "new_pin": {"4321"}, "new_pin_again": {"4321"}})
	wantContains(t, p, `id="e-current_pin"`, `name="current_pin"`)
	delete(f.fail, "SetPin")
	wantRedirect(t, b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "current_pin": {"1234"}, "new_pin": {"4321"}, "new_pin_again": {"4321"}}), "/ui/settings")
	calls := f.called("SetPin")
	if in := calls[len(calls)-1].Req.(*credentialv1.SetPinRequest); in.GetCurrentPin() != "1234" || in.CurrentPassword != nil || in.GetNewPin() != "4321" {
		t.Fatalf("SetPin %v, want the current PIN and no password", in)
	}
	// Forgot the PIN: the password instead.
	byPassword := b.get("/ui/settings?pin=password")
	wantContains(t, byPassword, `name="pin_password"`)
	if strings.Contains(byPassword.Body, `name="current_pin"`) {
		t.Fatal("the password way still asks the PIN")
	}
	wantRedirect(t, b.post("/ui/settings/pin", url.Values{CSRFField: {tok}, "pin_password": {"pw"}, "new_pin": {"5678"}, "new_pin_again": {"5678"}}), "/ui/settings")
	calls = f.called("SetPin")
	if in := calls[len(calls)-1].Req.(*credentialv1.SetPinRequest); in.GetCurrentPassword() != "pw" || in.CurrentPin != nil {
		t.Fatalf("SetPin %v, want the password and no PIN", in)
	}
}

// Turning two-step verification on: the QR code as a data: image and the
// key as text, a wrong code next to its field, then the recovery codes
// once with "I saved them".
func TestSettings_EnrolTOTP(t *testing.T) {
	f, ts := newAPITestServer(t)
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	p := b.post("/ui/settings/mfa/enroll", url.Values{CSRFField: {tok}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `src="data:image/png;base64,`, "JBSW Y3DP EHPK 3PXP", `autocomplete="one-time-code"`, `action="/ui/settings/mfa/confirm"`)
	if c := f.only(t, "EnrollTotp"); c.Bearer != "fresh-token" {
		t.Fatalf("EnrollTotp as %q", c.Bearer)
	}
	f.fail["ConfirmTotp"] = grpcErr(errs.Invalid(errs.Field("code", "TOTP_CODE_INVALID", "wrong")))
	p = b.post("/ui/settings/mfa/confirm", url.Values{CSRFField: {tok}, "code": {"000000"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-code"`, "JBSW Y3DP EHPK 3PXP")
	delete(f.fail, "ConfirmTotp")
	p = b.post("/ui/settings/mfa/confirm", url.Values{CSRFField: {tok}, "code": {"123 456"}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "code-one", "code-two", "I saved them", `action="/ui/settings/done"`)
	calls := f.called("ConfirmTotp")
	if in := calls[len(calls)-1].Req.(*mfav1.ConfirmTotpRequest); in.GetCode() != "123456" {
		t.Fatalf("ConfirmTotp %v", in)
	}
	wantRedirect(t, b.post("/ui/settings/done", url.Values{CSRFField: {tok}}), "/ui/settings")
	// The enrolment is over: confirming again goes back to the settings.
	wantRedirect(t, b.post("/ui/settings/mfa/confirm", url.Values{CSRFField: {tok}, "code": {"1"}}), "/ui/settings")
}

// Too many wrong codes end the enrolment: said on the settings page, which
// offers a new one.
func TestSettings_EnrolmentEnded(t *testing.T) {
	f, ts := newAPITestServer(t)
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	wantStatus(t, b.post("/ui/settings/mfa/enroll", url.Values{CSRFField: {tok}}), http.StatusOK)
	f.fail["ConfirmTotp"] = grpcErr(errs.FailedPrecondition("TOTP_ENROLLMENT_ENDED", "too many"))
	p := b.post("/ui/settings/mfa/confirm", url.Values{CSRFField: {tok}, "code": {"000000"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, "Too many wrong codes", `action="/ui/settings/mfa/enroll"`)
	wantRedirect(t, b.get("/ui/settings/mfa/confirm"), "/ui/settings")
}

func TestSettings_DisableAndNewCodes(t *testing.T) {
	f, ts := newAPITestServer(t)
	f.totp = true
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	p := b.post("/ui/settings/mfa/codes", url.Values{CSRFField: {tok}})
	wantContains(t, p, "fresh-one")
	wantRedirect(t, b.post("/ui/settings/mfa/disable", url.Values{CSRFField: {tok}}), "/ui/settings")
	for _, m := range []string{"RegenerateRecoveryCodes", "DisableTotp"} {
		if c := f.only(t, m); c.Bearer != "fresh-token" {
			t.Errorf("%s as %q", m, c.Bearer)
		}
	}
}

func TestSettings_SecurityQuestions(t *testing.T) {
	f, ts := newAPITestServer(t)
	f.questions = 2
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	// An answer missing: named, nothing sent.
	p := b.post("/ui/settings/questions", url.Values{CSRFField: {tok}, "count": {"2"}, "question1": {"Pet?"}, "answer1": {"Rex"}, "question2": {"Town?"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-answer2"`, `value="Town?"`)
	// The service refuses the second question: shown next to it.
	f.fail["SetSecurityQuestions"] = grpcErr(errs.Invalid(errs.Field("questions[1].question", "DUPLICATE_QUESTION", "same")))
	p = b.post("/ui/settings/questions", url.Values{CSRFField: {tok}, "count": {"2"}, "question1": {"Pet?"}, "answer1": {"Rex"}, "question2": {"Pet?"}, "answer2": {"x"}})
	wantContains(t, p, `id="e-question2"`, "Choose a different question.")
	delete(f.fail, "SetSecurityQuestions")
	wantRedirect(t, b.post("/ui/settings/questions", url.Values{CSRFField: {tok}, "count": {"2"}, "question1": {"Pet?"}, "answer1": {"Rex"}, "question2": {"Town?"}, "answer2": {"Delft"}}), "/ui/settings")
	calls := f.called("SetSecurityQuestions")
	c := calls[len(calls)-1]
	in := c.Req.(*recoveryv1.SetSecurityQuestionsRequest)
	if len(in.GetQuestions()) != 2 || in.GetQuestions()[1].GetQuestion() != "Town?" || in.GetQuestions()[1].GetAnswer() != "Delft" || c.Bearer != "fresh-token" {
		t.Fatalf("SetSecurityQuestions %v as %q", in, c.Bearer)
	}
}

func TestSettings_SignOutASession(t *testing.T) {
	f, ts := newAPITestServer(t)
	b := ts.signedIn(true)
	tok := csrfOf(b.get("/ui/settings").Body)
	wantStatus(t, b.post("/ui/settings/sessions/revoke", url.Values{"id": {"sess-phone"}}), http.StatusForbidden)
	wantRedirect(t, b.post("/ui/settings/sessions/revoke", url.Values{CSRFField: {tok}, "id": {"sess-phone"}}), "/ui/settings")
	if in := f.only(t, "RevokeSession").Req.(*credentialv1.RevokeSessionRequest); in.GetId() != "sess-phone" {
		t.Fatalf("RevokeSession %v", in)
	}
	// Signing out this browser's own session ends the page's session.
	wantRedirect(t, b.post("/ui/settings/sessions/revoke", url.Values{CSRFField: {tok}, "id": {"sess-me"}}), "/ui/sign-in?tenant=acme")
	wantRedirect(t, b.get("/ui/settings"), "/ui/sign-in")
}
