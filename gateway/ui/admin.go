package ui

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/libs/errs"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// The tenant admin area: for accounts with the role ADMIN (others get the
// 403 page), calling the admin API as the signed-in administrator.
func (s *Server) adminRoutes() {
	s.Handle("GET /ui/admin", s.Admin(s.adminAccounts))
	s.Handle("GET /ui/admin/accounts/{id}", s.Admin(s.adminAccount))
	s.Handle("POST /ui/admin/accounts/{id}/{action}", s.Admin(s.adminAction))
	s.Handle("GET /ui/admin/invite", s.Admin(s.adminInviteForm))
	s.Handle("POST /ui/admin/invite", s.Admin(s.adminInvite))
	s.Handle("GET /ui/admin/import", s.Admin(s.adminImportForm))
	s.HandleUpload("POST /ui/admin/import", maxImportBytes+64<<10, s.Admin(s.adminImport))
	s.Handle("GET /ui/admin/policy", s.Admin(s.adminPolicyForm))
	s.Handle("POST /ui/admin/policy", s.Admin(s.adminPolicy))
	s.Handle("GET /ui/admin/terms", s.Admin(s.adminTermsForm))
	s.Handle("POST /ui/admin/terms", s.Admin(s.adminTerms))
}

// HandleUpload is Handle for a form that sends a file
// (multipart/form-data) of up to max bytes in all: the form is read here,
// with that bound instead of Handle's, then Handle's checks (CSRF
// included) run on the fields it carried. A body over the bound gets the
// 413 page and nothing else.
func (s *Server) HandleUpload(pattern string, max int64, h func(*Request)) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			r.Body = http.MaxBytesReader(w, r.Body, max)
			if err := r.ParseMultipartForm(max); err != nil {
				status, key := http.StatusBadRequest, "error.bad_request"
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					status, key = http.StatusRequestEntityTooLarge, "import.err.size"
				}
				setSecurityHeaders(w.Header())
				rq := &Request{W: w, R: r, s: s, mode: s.cookieMode(r)}
				rq.loadSession()
				rq.decideLanguage()
				rq.Fail(status, key)
				return
			}
			if r.MultipartForm != nil {
				defer r.MultipartForm.RemoveAll()
			}
		}
		s.serve(w, r, h)
	}))
}

// Admin wraps a page of the admin area: signed in, and the account has the
// role ADMIN (asked of the account service on each request, so a role
// taken away counts at once); anyone else gets the 403 page. The backends
// check the role again on every call.
func (s *Server) Admin(h func(*Request)) func(*Request) {
	return s.SignedIn(func(rq *Request) {
		me, err := s.cfg.Clients.Account.GetMe(rq.AuthCtx(), &accountv1.GetMeRequest{})
		if err != nil {
			if rq.HandleAuthError(err) {
				return
			}
			rq.APIError(err)
			rq.Render("error", map[string]string{"Message": "error.unavailable"})
			return
		}
		if !slices.Contains(me.GetAccount().GetRoles(), accountv1.Role_ADMIN) {
			rq.Fail(http.StatusForbidden, "admin.forbidden")
			return
		}
		h(rq)
	})
}

// accountRow is an account as the admin pages show it.
type accountRow struct {
	ID, Username, Email, Name, Status, StatusKey string
	Roles                                        []string
	LockReason, LastLogin, Created               string
}

func rowOf(a *accountv1.Account) accountRow {
	r := accountRow{ID: a.GetId(), Username: a.GetUsername(), Email: a.GetEmail(), Name: a.GetDisplayName(),
		Status: a.GetStatus().String(), StatusKey: "admin.status." + a.GetStatus().String()}
	for _, role := range a.GetRoles() {
		r.Roles = append(r.Roles, "admin.role."+role.String())
	}
	if a.GetLockReason() != accountv1.LockReason_VALUE_UNSPECIFIED {
		r.LockReason = "admin.lock." + a.GetLockReason().String()
	}
	if a.GetLastLoginTime() != nil {
		r.LastLogin = formatTime(a.GetLastLoginTime().AsTime())
	}
	if a.GetCreateTime() != nil {
		r.Created = formatTime(a.GetCreateTime().AsTime())
	}
	return r
}

// accountStatuses are the status filter's choices.
var accountStatuses = []string{"PENDING", "ACTIVE", "LOCKED", "DISABLED"}

// adminAccounts finds accounts: a filter text, a status, a role, pages
// (the API's page token in the next page's link).
func (s *Server) adminAccounts(rq *Request) {
	q := rq.R.URL.Query()
	filter, status, role, token := strings.TrimSpace(q.Get("filter")), q.Get("status"), q.Get("role"), q.Get("pageToken")
	req := &accountv1.ListAccountsRequest{Filter: filter, PageSize: 25, PageToken: token}
	if slices.Contains(accountStatuses, status) {
		req.Status = accountv1.AccountStatus_Value(accountv1.AccountStatus_Value_value[status])
	} else {
		status = ""
	}
	if slices.Contains(inviteRoles, role) {
		req.Role = accountv1.Role_Value(accountv1.Role_Value_value[role])
	} else {
		role = ""
	}
	first := url.Values{}
	for k, v := range map[string]string{"filter": filter, "status": status, "role": role} {
		if v != "" {
			first.Set(k, v)
		}
	}
	data := map[string]any{"Filter": filter, "Status": status, "Statuses": accountStatuses, "Role": role, "Roles": inviteRoles}
	if token != "" {
		data["First"] = "/ui/admin?" + first.Encode()
	}
	resp, err := s.cfg.Clients.AccountAdmin.ListAccounts(rq.AuthCtx(), req)
	if err != nil {
		if rq.APIError(err).Kind == errs.KindInvalid {
			rq.Status(http.StatusBadRequest)
		}
	} else {
		var rows []accountRow
		for _, a := range resp.GetAccounts() {
			rows = append(rows, rowOf(a))
		}
		data["Accounts"] = rows
		if t := resp.GetNextPageToken(); t != "" {
			next := url.Values{"pageToken": {t}}
			for k, v := range first {
				next[k] = v
			}
			data["Next"] = "/ui/admin?" + next.Encode()
		}
	}
	rq.Render("admin-accounts", data)
}

// accountActions are the actions of an account's page: the path segment
// and the call it makes. The message admin.done.<action> says it worked.
var accountActions = map[string]func(s *Server, rq *Request, id string) error{
	"unlock": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.AccountAdmin.UnlockAccount(rq.AuthCtx(), &accountv1.UnlockAccountRequest{Id: id})
		return err
	},
	"reactivate": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.AccountAdmin.ReactivateAccount(rq.AuthCtx(), &accountv1.ReactivateAccountRequest{Id: id})
		return err
	},
	"lock": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.AccountAdmin.LockAccount(rq.AuthCtx(), &accountv1.LockAccountRequest{Id: id})
		return err
	},
	"disable": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.AccountAdmin.DisableAccount(rq.AuthCtx(), &accountv1.DisableAccountRequest{Id: id})
		return err
	},
	"sendReset": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.RecoveryAdmin.SendPasswordReset(rq.AuthCtx(), &recoveryv1.SendPasswordResetRequest{Id: id})
		return err
	},
	"resendActivation": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.RecoveryAdmin.ResendActivation(rq.AuthCtx(), &recoveryv1.ResendActivationRequest{Id: id})
		return err
	},
	"resetMfa": func(s *Server, rq *Request, id string) error {
		_, err := s.cfg.Clients.MFAAdmin.ResetMfa(rq.AuthCtx(), &mfav1.ResetMfaRequest{Id: id})
		return err
	},
	"setPassword": func(s *Server, rq *Request, id string) error {
		pw := rq.R.PostForm.Get("password")
		required(rq, "password", pw)
		if rq.HasErrors() {
			return nil
		}
		_, err := s.cfg.Clients.CredentialAdmin.SetPassword(rq.AuthCtx(), &credentialv1.SetPasswordRequest{
			Id: id, Password: pw, Temporary: rq.R.PostForm.Get("temporary") != ""})
		return err
	},
	"changeUsername": func(s *Server, rq *Request, id string) error {
		u := strings.TrimSpace(rq.R.PostForm.Get("new_username"))
		required(rq, "new_username", u)
		if rq.HasErrors() {
			return nil
		}
		_, err := s.cfg.Clients.AccountAdmin.ChangeUsername(rq.AuthCtx(), &accountv1.ChangeUsernameRequest{Id: id, NewUsername: u})
		return err
	},
}

// adminAccount is an account's page with its actions.
func (s *Server) adminAccount(rq *Request) { s.renderAccount(rq, rq.R.PathValue("id"), "") }

func (s *Server) renderAccount(rq *Request, id, newUsername string) {
	resp, err := s.cfg.Clients.AccountAdmin.GetAccount(rq.AuthCtx(), &accountv1.GetAccountRequest{Id: id})
	if err != nil {
		if e := errorOf(err); e.Kind == errs.KindNotFound || e.Kind == errs.KindInvalid {
			rq.Fail(http.StatusNotFound, "error.not_found")
			return
		}
		rq.APIError(err)
		rq.Render("error", map[string]string{"Message": "error.unavailable"})
		return
	}
	a := resp.GetAccount()
	st := a.GetStatus()
	// An account locked for inactivity is reactivated (the seed guides'
	// word for it); any other lock is unlocked. The API does both alike.
	inactive := st == accountv1.AccountStatus_LOCKED && a.GetLockReason() == accountv1.LockReason_INACTIVITY
	data := map[string]any{
		"Account":          rowOf(a),
		"NewUsername":      newUsername,
		"Unlock":           st == accountv1.AccountStatus_LOCKED && !inactive,
		"Reactivate":       st == accountv1.AccountStatus_DISABLED || inactive,
		"Lock":             st == accountv1.AccountStatus_ACTIVE,
		"Disable":          st != accountv1.AccountStatus_DISABLED,
		"SendReset":        st == accountv1.AccountStatus_ACTIVE || st == accountv1.AccountStatus_LOCKED,
		"ResendActivation": st == accountv1.AccountStatus_PENDING,
		"ResetMfa":         st != accountv1.AccountStatus_PENDING,
		"SetPassword":      st != accountv1.AccountStatus_DISABLED,
	}
	rq.Render("admin-account", data)
}

// adminAction runs one action of an account's page, then shows the page
// again with what happened.
func (s *Server) adminAction(rq *Request) {
	id, action := rq.R.PathValue("id"), rq.R.PathValue("action")
	do, ok := accountActions[action]
	if !ok {
		rq.Fail(http.StatusNotFound, "error.not_found")
		return
	}
	err := do(s, rq, id)
	if err == nil && !rq.HasErrors() {
		rq.Session.Notice = "admin.done." + action
		rq.Redirect("/ui/admin/accounts/" + url.PathEscape(id))
		return
	}
	if err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		e := rq.APIError(err)
		if e.Kind == errs.KindNotFound {
			rq.Fail(http.StatusNotFound, "error.not_found")
			return
		}
		if e.Kind == errs.KindPermissionDenied {
			rq.Status(http.StatusForbidden)
		}
	}
	s.renderAccount(rq, id, rq.R.PostForm.Get("new_username"))
}

// inviteForm is the invitation form as posted (or empty).
type inviteForm struct {
	Username, Email, DisplayName, Activation string
	Roles                                    []string
	AllRoles                                 []string
}

// inviteRoles are the roles an administrator may give.
var inviteRoles = []string{"USER", "ADMIN", "CLIENT"}

func (s *Server) adminInviteForm(rq *Request) {
	rq.Render("admin-invite", inviteForm{Activation: "EMAIL_LINK", Roles: []string{"USER"}, AllRoles: inviteRoles})
}

// adminInvite creates an account: activation by an e-mailed link or with a
// temporary password the administrator gives.
func (s *Server) adminInvite(rq *Request) {
	f := rq.R.PostForm
	d := inviteForm{Username: strings.TrimSpace(f.Get("username")), Email: strings.TrimSpace(f.Get("email")),
		DisplayName: strings.TrimSpace(f.Get("display_name")), Activation: f.Get("activation"), AllRoles: inviteRoles}
	req := &accountv1.CreateAccountRequest{Username: d.Username, Email: d.Email, DisplayName: d.DisplayName}
	for _, r := range f["roles"] {
		if slices.Contains(inviteRoles, r) {
			d.Roles = append(d.Roles, r)
			req.Roles = append(req.Roles, accountv1.Role_Value(accountv1.Role_Value_value[r]))
		}
	}
	required(rq, "email", d.Email)
	if len(d.Roles) == 0 {
		rq.FieldError("roles", "reason.REQUIRED")
	}
	switch d.Activation {
	case "TEMPORARY_PASSWORD":
		req.Activation = accountv1.Activation_TEMPORARY_PASSWORD
		req.TemporaryPassword = f.Get("temporary_password")
		required(rq, "temporary_password", req.TemporaryPassword)
	default:
		d.Activation = "EMAIL_LINK"
		req.Activation = accountv1.Activation_EMAIL_LINK
	}
	if rq.HasErrors() {
		rq.Render("admin-invite", d)
		return
	}
	resp, err := s.cfg.Clients.AccountAdmin.CreateAccount(rq.AuthCtx(), req)
	if err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		rq.APIError(err)
		rq.Render("admin-invite", d)
		return
	}
	rq.Session.Notice = "admin.done.invite"
	rq.Redirect("/ui/admin/accounts/" + url.PathEscape(resp.GetAccount().GetId()))
}

// importProblem is a refused row of an import, as the page lists it.
type importProblem struct {
	Line     int
	Username string
	Fields   []string
	Message  string
}

// maxImportBytes bounds an uploaded CSV.
const maxImportBytes = 2 << 20

func (s *Server) adminImportForm(rq *Request) { rq.Render("admin-import", nil) }

// adminImport reads an uploaded CSV (or one pasted into the text area)
// and imports it: all rows or none, as the API does. Every refused row is
// listed with its line, the fields at fault and why.
func (s *Server) adminImport(rq *Request) {
	var raw []byte
	if file, _, err := rq.R.FormFile("file"); err == nil {
		raw, err = io.ReadAll(io.LimitReader(file, maxImportBytes+1))
		file.Close()
		if err != nil || len(raw) > maxImportBytes {
			rq.FieldError("file", "import.err.size")
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte(rq.R.PostFormValue("csv"))
	}
	if !rq.HasErrors() && len(bytes.TrimSpace(raw)) == 0 {
		rq.FieldError("file", "import.err.file")
	}
	if rq.HasErrors() {
		rq.Render("admin-import", nil)
		return
	}
	rows, lines, bad, err := parseImportCSV(bytes.NewReader(raw))
	if err != nil {
		rq.FieldError("file", "import.err.empty")
		rq.Render("admin-import", nil)
		return
	}
	var problems []importProblem
	for _, b := range bad {
		p := importProblem{Line: b.Line, Message: rq.T(b.Key)}
		if b.Field != "" {
			p.Fields = []string{b.Field}
		}
		problems = append(problems, p)
	}
	if len(problems) == 0 {
		resp, err := s.cfg.Clients.CredentialAdmin.ImportAccounts(rq.AuthCtx(), &credentialv1.ImportAccountsRequest{Accounts: rows})
		if err != nil {
			if rq.HandleAuthError(err) {
				return
			}
			rq.APIError(err)
			rq.Render("admin-import", nil)
			return
		}
		if resp.GetFailedCount() == 0 {
			rq.Session.Notice = ""
			rq.Render("admin-import", map[string]any{"Imported": resp.GetImportedCount()})
			return
		}
		for _, r := range resp.GetResults() {
			if r.GetErrorCode() == "" {
				continue
			}
			p := importProblem{Username: r.GetUsername(), Message: r.GetErrorMessage(), Fields: fieldsIn(r.GetErrorMessage())}
			if i := int(r.GetIndex()); i >= 0 && i < len(lines) {
				p.Line = lines[i]
				if p.Username == "" {
					p.Username = rows[i].GetUsername()
				}
			}
			problems = append(problems, p)
		}
	}
	rq.Error("admin.import.refused", len(problems))
	rq.Render("admin-import", map[string]any{"Problems": problems})
}

// importField finds the columns an import refusal names.
var importField = regexp.MustCompile(`\b(username|email|displayName|roles|legacyPasswordHash)\b`)

func fieldsIn(msg string) []string {
	var out []string
	for _, m := range importField.FindAllString(msg, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// policyGroup is one fieldset of the policy form.
type policyGroup struct {
	Name   string
	Fields []policyInput
}

type policyInput struct {
	Name, Value, Error string
	Bool, Number       bool
	Options            []string
}

func (s *Server) policyData(rq *Request, values map[string]string) []policyGroup {
	var out []policyGroup
	for _, g := range policyGroups {
		pg := policyGroup{Name: g}
		for _, f := range policyFields {
			if f.Group != g {
				continue
			}
			pg.Fields = append(pg.Fields, policyInput{Name: f.Name, Value: values[f.Name], Error: rq.errs.Fields[f.Name],
				Bool: f.Kind == policyBool, Number: f.Kind == policyInt, Options: f.Options})
		}
		out = append(out, pg)
	}
	return out
}

// currentPolicy reads the tenant, answering the page itself when it fails.
func (s *Server) currentTenant(rq *Request) (*accountv1.Tenant, bool) {
	resp, err := s.cfg.Clients.AccountAdmin.GetTenant(rq.AuthCtx(), &accountv1.GetTenantRequest{})
	if err != nil {
		if rq.HandleAuthError(err) {
			return nil, false
		}
		rq.APIError(err)
		rq.Render("error", map[string]string{"Message": "error.unavailable"})
		return nil, false
	}
	return resp.GetTenant(), true
}

func (s *Server) adminPolicyForm(rq *Request) {
	t, ok := s.currentTenant(rq)
	if !ok {
		return
	}
	rq.Render("admin-policy", s.policyData(rq, policyValues(t.GetPolicy())))
}

// adminPolicy saves the policy form: only the fields that changed are
// sent (PATCH /v1/admin/tenant/policy with them as the update mask).
func (s *Server) adminPolicy(rq *Request) {
	t, ok := s.currentTenant(rq)
	if !ok {
		return
	}
	values, bad, changed, mask := policyChanges(rq.R.PostForm, t.GetPolicy())
	for name, key := range bad {
		rq.FieldError(name, key)
	}
	if rq.HasErrors() {
		rq.Render("admin-policy", s.policyData(rq, values))
		return
	}
	if len(mask) == 0 {
		rq.Session.Notice = "admin.done.policyNone"
		rq.Redirect("/ui/admin/policy")
		return
	}
	if _, err := s.cfg.Clients.AccountAdmin.UpdateTenantPolicy(rq.AuthCtx(), &accountv1.UpdateTenantPolicyRequest{Policy: changed}); err != nil {
		if rq.HandleAuthError(err) {
			return
		}
		e := errorOf(err)
		placed := false
		if e.Kind == errs.KindInvalid {
			for _, f := range e.Fields {
				name := strings.TrimPrefix(f.Field, "policy.")
				if name == "password" {
					name = "password.minLength" // the counts add up to too much
				}
				rq.FieldError(name, rq.reasonKey(f.Reason, "reason.INVALID"))
				placed = true
			}
		}
		if !placed {
			rq.APIError(err)
		}
		rq.Render("admin-policy", s.policyData(rq, values))
		return
	}
	rq.Session.Notice = "admin.done.policy"
	rq.Redirect("/ui/admin/policy")
}

func (s *Server) adminTermsForm(rq *Request) {
	t, ok := s.currentTenant(rq)
	if !ok {
		return
	}
	rq.Render("admin-terms", map[string]string{"Current": t.GetTermsVersion()})
}

// adminTerms publishes a terms version.
func (s *Server) adminTerms(rq *Request) {
	version, text := strings.TrimSpace(rq.R.PostForm.Get("version")), rq.R.PostForm.Get("text")
	required(rq, "version", version)
	required(rq, "text", text)
	data := map[string]string{"Version": version, "Text": text}
	if !rq.HasErrors() {
		_, err := s.cfg.Clients.AccountAdmin.PublishTerms(rq.AuthCtx(), &accountv1.PublishTermsRequest{Version: version, Text: text})
		if err == nil {
			rq.Session.Notice = "admin.done.terms"
			rq.Redirect("/ui/admin/terms")
			return
		}
		if rq.HandleAuthError(err) {
			return
		}
		rq.APIError(err)
	}
	if t, err := s.cfg.Clients.AccountAdmin.GetTenant(rq.AuthCtx(), &accountv1.GetTenantRequest{}); err == nil {
		data["Current"] = t.GetTenant().GetTermsVersion()
	}
	rq.Render("admin-terms", data)
}
