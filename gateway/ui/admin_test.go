package ui

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// adminPaths are the admin area's GET pages.
var adminPaths = []string{"/ui/admin", "/ui/admin/accounts/acc-1", "/ui/admin/invite", "/ui/admin/import", "/ui/admin/policy", "/ui/admin/terms"}

func newAdmin(t *testing.T) (*fakeAPI, *testServer) {
	f, ts := newAPITestServer(t)
	f.roles = []accountv1.Role_Value{accountv1.Role_USER, accountv1.Role_ADMIN}
	return f, ts
}

// Without a session: to sign-in; signed in without the role ADMIN: the
// 403 page, and no admin call made.
func TestAdmin_SignInAndRoleRequired(t *testing.T) {
	f, ts := newAPITestServer(t)
	anon := ts.browser()
	user := ts.signedIn(false)
	for _, path := range adminPaths {
		wantRedirect(t, anon.get(path), "/ui/sign-in")
		p := user.get(path)
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, "This page is for the administrators of your organisation.")
	}
	tok := csrfOf(user.get("/ui/settings/").Body)
	if tok == "" {
		tok = csrfOf(user.get("/ui/admin").Body)
	}
	for _, path := range []string{"/ui/admin/accounts/acc-1/unlock", "/ui/admin/invite", "/ui/admin/policy", "/ui/admin/terms"} {
		wantStatus(t, user.post(path, url.Values{CSRFField: {tok}, "email": {"x@y"}, "roles": {"USER"}}), http.StatusForbidden)
	}
	for _, c := range f.calls {
		if c.Method != "GetMe" && c.Method != "GetAppearance" {
			t.Errorf("%s called for a non-admin", c.Method)
		}
	}
}

func TestAdmin_PagesRenderForAdmin(t *testing.T) {
	_, ts := newAdmin(t)
	b := ts.signedIn(false) // no step-up needed for the admin area
	for _, path := range adminPaths {
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if n := strings.Count(p.Body, `method="post"`); strings.Count(p.Body, `name="csrf"`) < n {
			t.Errorf("%s: %d post forms, %d CSRF fields", path, n, strings.Count(p.Body, `name="csrf"`))
		}
		wantContains(t, p, `aria-label="Administration"`)
	}
	if p := b.get("/ui/admin?lang=nl"); !strings.Contains(p.Body, "Uitnodigen") || !strings.Contains(p.Body, `lang="nl"`) {
		t.Errorf("Dutch admin page:\n%s", p.Body)
	}
}

func TestAdmin_FindAccounts_FilterAndPages(t *testing.T) {
	f, ts := newAdmin(t)
	f.accounts = []*accountv1.Account{{Id: "a1", Username: "bob", DisplayName: "Bob", Email: "bob@acme.example",
		Roles: []accountv1.Role_Value{accountv1.Role_USER}, Status: accountv1.AccountStatus_LOCKED}}
	f.next = "tok/2+"
	b := ts.signedIn(false)
	p := b.get("/ui/admin?filter=bo&status=LOCKED&role=USER")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `href="/ui/admin/accounts/a1"`, "bob@acme.example", "Locked", "Staff",
		`href="/ui/admin?filter=bo&amp;pageToken=tok%2F2%2B&amp;role=USER&amp;status=LOCKED"`, `<option value="USER" selected>`)
	c := f.only(t, "ListAccounts")
	in := c.Req.(*accountv1.ListAccountsRequest)
	if in.GetFilter() != "bo" || in.GetStatus() != accountv1.AccountStatus_LOCKED || in.GetRole() != accountv1.Role_USER || in.GetPageToken() != "" || c.Bearer != "access" {
		t.Fatalf("ListAccounts %v as %q", in, c.Bearer)
	}
	p = b.get("/ui/admin?filter=bo&pageToken=tok%2F2%2B&role=USER&status=LOCKED")
	wantContains(t, p, `href="/ui/admin?filter=bo&amp;role=USER&amp;status=LOCKED"`)
	calls := f.called("ListAccounts")
	if in := calls[1].Req.(*accountv1.ListAccountsRequest); in.GetPageToken() != "tok/2+" || in.GetRole() != accountv1.Role_USER {
		t.Fatalf("second page %v", in)
	}
	// Values that are no status or role are not sent.
	b.get("/ui/admin?status=VALUE_UNSPECIFIED&role=OPERATOR")
	calls = f.called("ListAccounts")
	if in := calls[2].Req.(*accountv1.ListAccountsRequest); in.GetStatus() != 0 || in.GetRole() != 0 {
		t.Fatalf("unknown status and role sent: %v", in)
	}
	// A page token the service refuses: said on the page, not a 500.
	f.fail["ListAccounts"] = grpcErr(errs.Invalid(errs.Field("pageToken", "INVALID_PAGE_TOKEN", "bad")))
	p = b.get("/ui/admin?pageToken=junk")
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `role="alert"`)
}

// An account locked for inactivity is reactivated (J2 step 6), any other
// lock unlocked: one of the two buttons, never both.
func TestAdmin_InactivityLockIsReactivated(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	f.account = &accountv1.Account{Id: "acc-1", Username: "bo", Status: accountv1.AccountStatus_LOCKED, LockReason: accountv1.LockReason_INACTIVITY}
	page := b.get("/ui/admin/accounts/acc-1")
	wantContains(t, page, "inactivity", `action="/ui/admin/accounts/acc-1/reactivate"`)
	if strings.Contains(page.Body, `action="/ui/admin/accounts/acc-1/unlock"`) {
		t.Error("an inactivity lock offers Unlock beside Reactivate")
	}
	f.account.LockReason = accountv1.LockReason_FAILED_ATTEMPTS
	page = b.get("/ui/admin/accounts/acc-1")
	wantContains(t, page, `action="/ui/admin/accounts/acc-1/unlock"`)
	if strings.Contains(page.Body, `action="/ui/admin/accounts/acc-1/reactivate"`) {
		t.Error("a failed-attempts lock offers Reactivate")
	}
}

// Each action of an account's page calls its RPC with the account's id,
// as the signed-in administrator; without the CSRF token nothing happens.
func TestAdmin_AccountActions(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	page := b.get("/ui/admin/accounts/acc-1")
	wantContains(t, page, "too many failed sign-ins", `action="/ui/admin/accounts/acc-1/unlock"`, `action="/ui/admin/accounts/acc-1/setPassword"`,
		`autocomplete="new-password"`, `action="/ui/admin/accounts/acc-1/changeUsername"`)
	if c := f.only(t, "GetAccount"); c.Req.(*accountv1.GetAccountRequest).GetId() != "acc-1" {
		t.Fatalf("GetAccount %v", c.Req)
	}
	tok := csrfOf(page.Body)
	wantStatus(t, b.post("/ui/admin/accounts/acc-1/unlock", url.Values{}), http.StatusForbidden)
	if len(f.called("UnlockAccount")) != 0 {
		t.Fatal("unlocked without a CSRF token")
	}
	ids := map[string]func(fakeCall) string{
		"unlock":           func(c fakeCall) string { return c.Req.(*accountv1.UnlockAccountRequest).GetId() },
		"reactivate":       func(c fakeCall) string { return c.Req.(*accountv1.ReactivateAccountRequest).GetId() },
		"lock":             func(c fakeCall) string { return c.Req.(*accountv1.LockAccountRequest).GetId() },
		"disable":          func(c fakeCall) string { return c.Req.(*accountv1.DisableAccountRequest).GetId() },
		"sendReset":        func(c fakeCall) string { return c.Req.(*recoveryv1.SendPasswordResetRequest).GetId() },
		"resendActivation": func(c fakeCall) string { return c.Req.(*recoveryv1.ResendActivationRequest).GetId() },
		"resetMfa":         func(c fakeCall) string { return c.Req.(*mfav1.ResetMfaRequest).GetId() },
	}
	methods := map[string]string{"unlock": "UnlockAccount", "reactivate": "ReactivateAccount", "lock": "LockAccount", "disable": "DisableAccount",
		"sendReset": "SendPasswordReset", "resendActivation": "ResendActivation", "resetMfa": "ResetMfa"}
	for action, id := range ids {
		p := b.post("/ui/admin/accounts/acc-1/"+action, url.Values{CSRFField: {tok}})
		wantRedirect(t, p, "/ui/admin/accounts/acc-1")
		c := f.only(t, methods[action])
		if id(c) != "acc-1" || c.Bearer != "access" {
			t.Errorf("%s: %v as %q", action, c.Req, c.Bearer)
		}
	}
	b.post("/ui/admin/accounts/acc-1/resetMfa", url.Values{CSRFField: {tok}})
	wantContains(t, b.get("/ui/admin/accounts/acc-1"), "Two-step verification has been reset.")

	// Set a password: temporary when the box is ticked.
	wantRedirect(t, b.post("/ui/admin/accounts/acc-1/setPassword", url.Values{CSRFField: {tok}, "password": {"Temp-pass-1"}, "temporary": {"on"}}), "/ui/admin/accounts/acc-1")
	wantRedirect(t, b.post("/ui/admin/accounts/acc-1/setPassword", url.Values{CSRFField: {tok}, "password": {"Final-pass-1"}}), "/ui/admin/accounts/acc-1")
	sp := f.called("SetPassword")
	if a, z := sp[0].Req.(*credentialv1.SetPasswordRequest), sp[1].Req.(*credentialv1.SetPasswordRequest); a.GetId() != "acc-1" || a.GetPassword() != "Temp-pass-1" || !a.GetTemporary() || z.GetTemporary() {
		t.Fatalf("SetPassword %v then %v", a, z)
	}
	// A password the policy refuses: next to the field.
	f.fail["SetPassword"] = grpcErr(errs.Invalid(errs.Field("password", "PASSWORD_TOO_SHORT", "short")))
	p := b.post("/ui/admin/accounts/acc-1/setPassword", url.Values{CSRFField: {tok}, "password": {"x"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-password"`, `aria-invalid="true"`)

	// Change the login ID; a taken one is named next to the field.
	wantRedirect(t, b.post("/ui/admin/accounts/acc-1/changeUsername", url.Values{CSRFField: {tok}, "new_username": {"robert"}}), "/ui/admin/accounts/acc-1")
	if in := f.only(t, "ChangeUsername").Req.(*accountv1.ChangeUsernameRequest); in.GetId() != "acc-1" || in.GetNewUsername() != "robert" {
		t.Fatalf("ChangeUsername %v", in)
	}
	f.fail["ChangeUsername"] = grpcErr(errs.Conflict("newUsername", "LOGIN_TAKEN", "taken"))
	p = b.post("/ui/admin/accounts/acc-1/changeUsername", url.Values{CSRFField: {tok}, "new_username": {"ann"}})
	wantContains(t, p, `id="e-new_username"`, "already in use", `value="ann"`)

	wantStatus(t, b.post("/ui/admin/accounts/acc-1/explode", url.Values{CSRFField: {tok}}), http.StatusNotFound)
}

func TestAdmin_Invite(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	// No e-mail, no role, temporary password chosen but not given: all named.
	form := b.get("/ui/admin/invite")
	wantContains(t, form, `value="USER" checked`, `value="EMAIL_LINK" checked`)
	if strings.Contains(form.Body, `value="ADMIN" checked`) {
		t.Error("the invitation offers ADMIN ticked")
	}
	// The account service requires a display name: the form says so
	// rather than marking it optional.
	if in := regexp.MustCompile(`<input[^>]*name="display_name"[^>]*>`).FindString(form.Body); !strings.Contains(in, " required") {
		t.Errorf("the name field is not marked required: %s", in)
	}
	p := b.submit("/ui/admin/invite", "/ui/admin/invite", url.Values{"activation": {"TEMPORARY_PASSWORD"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-email"`, `id="e-roles"`, `id="e-temporary_password"`, `role="alert"`)
	if len(f.called("CreateAccount")) != 0 {
		t.Fatal("CreateAccount called with an incomplete form")
	}
	p = b.submit("/ui/admin/invite", "/ui/admin/invite", url.Values{"username": {"carl"}, "email": {"carl@acme.example"}, "display_name": {"Carl"},
		"roles": {"USER", "ADMIN", "OPERATOR"}, "activation": {"EMAIL_LINK"}})
	wantRedirect(t, p, "/ui/admin/accounts/new-1")
	in := f.only(t, "CreateAccount").Req.(*accountv1.CreateAccountRequest)
	if in.GetUsername() != "carl" || in.GetEmail() != "carl@acme.example" || in.GetDisplayName() != "Carl" || in.GetActivation() != accountv1.Activation_EMAIL_LINK ||
		len(in.GetRoles()) != 2 || in.GetRoles()[0] != accountv1.Role_USER || in.GetRoles()[1] != accountv1.Role_ADMIN || in.GetTemporaryPassword() != "" {
		t.Fatalf("CreateAccount %v", in)
	}
	// With a temporary password; the service's refusal lands on its field.
	f.fail["CreateAccount"] = grpcErr(errs.Invalid(errs.Field("email", "INVALID_FORMAT", "bad")))
	p = b.submit("/ui/admin/invite", "/ui/admin/invite", url.Values{"email": {"nope"}, "roles": {"CLIENT"}, "activation": {"TEMPORARY_PASSWORD"}, "temporary_password": {"Temp-1234"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-email"`, `value="nope"`)
	calls := f.called("CreateAccount")
	if in := calls[1].Req.(*accountv1.CreateAccountRequest); in.GetActivation() != accountv1.Activation_TEMPORARY_PASSWORD || in.GetTemporaryPassword() != "Temp-1234" {
		t.Fatalf("CreateAccount %v", in)
	}
}

// upload posts a CSV file to the import page as multipart/form-data.
func upload(t *testing.T, b *browser, csrf, csv string) page {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if csrf != "" {
		_ = w.WriteField(CSRFField, csrf)
	}
	fw, _ := w.CreateFormFile("file", "accounts.csv")
	_, _ = fw.Write([]byte(csv))
	_ = w.Close()
	resp, err := b.c.Post(b.ts.srv.URL+"/ui/admin/import", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp)
}

func TestAdmin_ImportCSV(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	tok := csrfOf(b.get("/ui/admin/import").Body)
	csv := "username,email,displayName,roles,legacyPasswordHash\n" +
		"dora,dora@acme.example,Dora,USER,$2b$10$abcdefghijklmnopqrstuv\n" +
		"ed,ed@acme.example,Ed,USER ADMIN,\n"
	wantStatus(t, upload(t, b, "", csv), http.StatusForbidden)
	if len(f.called("ImportAccounts")) != 0 {
		t.Fatal("imported without a CSRF token")
	}
	p := upload(t, b, tok, csv)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "2 accounts were imported.")
	in := f.only(t, "ImportAccounts").Req.(*credentialv1.ImportAccountsRequest)
	if len(in.GetAccounts()) != 2 || in.GetAccounts()[0].GetLegacyPasswordHash() != "$2b$10$abcdefghijklmnopqrstuv" ||
		strings.Join(in.GetAccounts()[1].GetRoles(), ",") != "USER,ADMIN" || in.GetAccounts()[1].GetDisplayName() != "Ed" {
		t.Fatalf("ImportAccounts %v", in)
	}

	// The service refuses a row: nothing imported, the row listed by its
	// line with the field at fault.
	f.imported = &credentialv1.ImportAccountsResponse{FailedCount: 1, Results: []*credentialv1.ImportResult{
		{Index: 0, Username: "dora"},
		{Index: 1, Username: "ed", ErrorCode: "INVALID_ARGUMENT", ErrorMessage: "accounts[1].email: INVALID_FORMAT"},
	}}
	p = upload(t, b, tok, csv)
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, "Nothing was imported: 1 rows were refused.", `<td data-label="Line">3</td>`, "<code>email</code>", "INVALID_FORMAT")

	// A row the page cannot read is refused before any call.
	before := len(f.called("ImportAccounts"))
	p = upload(t, b, tok, "fay,fay@acme.example,Fay\n,,Gus,USER,\n")
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, "A row needs 5 columns.", `<td data-label="Line">1</td>`, `<td data-label="Line">2</td>`, "<code>email</code>")
	if len(f.called("ImportAccounts")) != before {
		t.Fatal("a file with unreadable rows was sent")
	}
	// No file at all.
	p = upload(t, b, tok, "")
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-file"`)
}

func TestAdmin_Policy_SendsOnlyChangedFields(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	page := b.get("/ui/admin/policy")
	wantContains(t, page, `name="password.minLength"`, `value="10"`, `name="mfa.required"`, `name="linkBaseUrl"`, "Passwords")
	form := url.Values{CSRFField: {csrfOf(page.Body)}}
	for k, v := range policyValues(f.policy) {
		if v != "false" {
			form.Set(k, v)
		}
	}
	// Nothing changed: nothing sent.
	wantRedirect(t, b.post("/ui/admin/policy", form), "/ui/admin/policy")
	if len(f.called("UpdateTenantPolicy")) != 0 {
		t.Fatal("an unchanged policy was sent")
	}
	form.Set("password.minLength", "12")
	form.Set("mfa.required", "on")
	wantRedirect(t, b.post("/ui/admin/policy", form), "/ui/admin/policy")
	in := f.only(t, "UpdateTenantPolicy").Req.(*accountv1.UpdateTenantPolicyRequest).GetPolicy()
	if in.GetPassword().GetMinLength() != 12 || !in.GetMfa().GetRequired() || in.Locale != nil || in.Password.MinDigits != nil || in.Lockout != nil {
		t.Fatalf("UpdateTenantPolicy %v, want password.minLength and mfa.required only", in)
	}
	// A bad number is named before any call; the service's refusal too.
	form.Set("lockout.maxFailedAttempts", "lots")
	p := b.post("/ui/admin/policy", form)
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-lockout.maxFailedAttempts"`, "Enter a whole number of 0 or more.")
	form.Set("lockout.maxFailedAttempts", "0")
	f.fail["UpdateTenantPolicy"] = grpcErr(errs.Invalid(errs.Field("policy.password.minLength", "OUT_OF_RANGE", "8..128")))
	p = b.post("/ui/admin/policy", form)
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-password.minLength"`, "out of range")
}

func TestAdmin_PublishTerms(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	page := b.get("/ui/admin/terms")
	wantContains(t, page, "Current version: v1")
	p := b.submit("/ui/admin/terms", "/ui/admin/terms", url.Values{"version": {"v2"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, `id="e-text"`)
	wantRedirect(t, b.submit("/ui/admin/terms", "/ui/admin/terms", url.Values{"version": {"v2"}, "text": {"Be kind."}}), "/ui/admin/terms")
	if in := f.only(t, "PublishTerms").Req.(*accountv1.PublishTermsRequest); in.GetVersion() != "v2" || in.GetText() != "Be kind." {
		t.Fatalf("PublishTerms %v", in)
	}
}

// A file over the bound gets the 413 page; nothing is imported.
func TestAdmin_ImportTooLarge(t *testing.T) {
	f, ts := newAdmin(t)
	b := ts.signedIn(false)
	tok := csrfOf(b.get("/ui/admin/import").Body)
	p := upload(t, b, tok, strings.Repeat("a,b@c.example,C,USER,\n", maxImportBytes/20+4096))
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	if len(f.called("ImportAccounts")) != 0 {
		t.Fatal("an oversized file was imported")
	}
}
