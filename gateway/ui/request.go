package ui

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// Request is one page request: the session from its cookie, the language
// and tenant decided, and the errors a form collected.
type Request struct {
	W http.ResponseWriter
	R *http.Request
	// Session is the browser's session; changes are saved with the
	// answer (Render, Redirect, Fail).
	Session *Session
	// Lang is the page's language ("en", "nl").
	Lang string

	s      *Server
	mode   cookieMode
	fresh  bool // no valid session cookie came with the request
	status int
	errs   FormErrors

	appearance *accountv1.GetAppearanceResponse
	looked     bool
	me         *accountv1.GetMeResponse
	meErr      error
}

// FormErrors are a form's problems: per field (shown next to it) and for
// the whole form; all of them are listed in the announced summary.
type FormErrors struct {
	Fields  map[string]string
	General []string
}

// Any reports whether there is any error.
func (e FormErrors) Any() bool { return len(e.Fields) > 0 || len(e.General) > 0 }

// FieldError records a message (a catalog key, with args) for a field.
func (rq *Request) FieldError(field, key string, args ...any) {
	if rq.errs.Fields == nil {
		rq.errs.Fields = map[string]string{}
	}
	if _, ok := rq.errs.Fields[field]; !ok {
		rq.errs.Fields[field] = rq.T(key, args...)
	}
}

// Error records a message for the whole form.
func (rq *Request) Error(key string, args ...any) {
	rq.errs.General = append(rq.errs.General, rq.T(key, args...))
}

// HasErrors reports whether any error was recorded.
func (rq *Request) HasErrors() bool { return rq.errs.Any() }

// Status sets the HTTP status Render uses (default: 200, or 400 when
// errors were recorded).
func (rq *Request) Status(code int) { rq.status = code }

// T translates a message key into the page's language.
func (rq *Request) T(key string, args ...any) string {
	return rq.s.messages.T(rq.Lang, key, args...)
}

// loadSession opens the session cookie or starts a new session.
func (rq *Request) loadSession() {
	if c, err := rq.R.Cookie(rq.mode.sessionName()); err == nil {
		if s, ok := rq.s.codec.decode(c.Value, rq.s.clock.Now()); ok {
			rq.Session = s
			return
		}
	}
	rq.Session = newSession(rq.s.clock.Now())
	rq.fresh = true
}

// saveSession seals the session into its cookie.
func (rq *Request) saveSession() {
	v, err := rq.s.codec.encode(rq.Session)
	if err != nil {
		rq.s.log.Error("ui: sealing the session", "err", err)
		return
	}
	http.SetCookie(rq.W, rq.mode.cookie(rq.mode.sessionName(), v, 0))
}

// SetCookie sets a cookie of the pages (HttpOnly, SameSite=Lax, Secure
// unless on plain-HTTP loopback); maxAge < 0 deletes it.
func (rq *Request) SetCookie(name, value string, maxAge int) {
	http.SetCookie(rq.W, rq.mode.cookie(name, value, maxAge))
}

// Tenant is the company code the page is for: the ?tenant= of the link,
// else the one signing in or signed in, else the remembered one.
func (rq *Request) Tenant() string {
	if t := cleanCode(rq.R.URL.Query().Get("tenant")); t != "" {
		return t
	}
	if t := cleanCode(rq.R.PostForm.Get("tenant")); t != "" {
		return t
	}
	if rq.Session.Tenant != "" {
		return rq.Session.Tenant
	}
	if t, _ := rq.remembered(); t != "" {
		return t
	}
	return ""
}

// Appearance is the tenant's brand, locale and rules (nil when no tenant
// is known or the account service does not answer).
func (rq *Request) Appearance() *accountv1.GetAppearanceResponse {
	if rq.looked {
		return rq.appearance
	}
	rq.looked = true
	code := rq.Tenant()
	if code == "" {
		return nil
	}
	a, err := rq.s.cfg.Clients.Account.GetAppearance(rq.Ctx(), &accountv1.GetAppearanceRequest{Code: code})
	if err != nil {
		// An unknown company code is a visitor's typo, not a fault.
		rq.s.log.Log(rq.Ctx(), grpcx.HopLevel(status.Code(err)), "ui: tenant appearance", "err", err)
		return nil
	}
	rq.appearance = a
	return a
}

// Brand is the name shown in the page's header.
func (rq *Request) Brand() string {
	if a := rq.Appearance(); a != nil && a.GetBrandName() != "" {
		return a.GetBrandName()
	}
	return "Latchkey"
}

// decideLanguage: ?lang= (remembered in a cookie), else the cookie, else
// the tenant's locale, else the browser's Accept-Language, else English.
func (rq *Request) decideLanguage() {
	if l := rq.R.URL.Query().Get("lang"); rq.s.messages.has(l) {
		rq.Lang = l
		rq.SetCookie(langCookie, l, 365*24*3600)
		return
	}
	if c, err := rq.R.Cookie(langCookie); err == nil && rq.s.messages.has(c.Value) {
		rq.Lang = c.Value
		return
	}
	if a := rq.Appearance(); a != nil {
		if l := language(a.GetLocale()); rq.s.messages.has(l) {
			rq.Lang = l
			return
		}
	}
	for _, part := range strings.Split(rq.R.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l := language(tag); rq.s.messages.has(l) {
			rq.Lang = l
			return
		}
	}
	rq.Lang = defaultLanguage
}

// language is the primary subtag of a BCP 47 tag, lower case.
func language(tag string) string {
	l, _, _ := strings.Cut(tag, "-")
	l, _, _ = strings.Cut(l, "_")
	return strings.ToLower(strings.TrimSpace(l))
}

// Render answers with the page template name (templates/name.html) and
// data (the template's .Data), saving the session. The status is 200, or
// what Status set, or 400 when errors were recorded.
func (rq *Request) Render(name string, data any) {
	status := rq.status
	if status == 0 {
		status = http.StatusOK
		if rq.errs.Any() {
			status = http.StatusBadRequest
		}
	}
	page := &Page{
		Lang: rq.Lang, Brand: rq.Brand(), CSRF: rq.Session.CSRF, Name: name,
		Errors: rq.errs, SignedIn: rq.Session.SignedIn(), Username: rq.Session.Username,
		Tenant: rq.Tenant(), Path: rq.R.URL.Path, Data: data, rq: rq,
	}
	if rq.Session.Notice != "" {
		page.Notice = rq.T(rq.Session.Notice)
		rq.Session.Notice = ""
	}
	var buf bytes.Buffer
	if err := rq.s.render(&buf, name, page); err != nil {
		rq.s.log.Error("ui: rendering", "page", name, "err", err)
		http.Error(rq.W, "internal error", http.StatusInternalServerError)
		return
	}
	rq.saveSession()
	h := rq.W.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", rq.Lang)
	rq.W.WriteHeader(status)
	_, _ = rq.W.Write(buf.Bytes())
}

// Redirect saves the session and sends the browser to a local path with
// 303 See Other (a POST's answer becomes a GET).
func (rq *Request) Redirect(path string) {
	rq.saveSession()
	rq.W.Header().Set("Cache-Control", "no-store")
	rq.W.Header().Set("Location", path)
	rq.W.WriteHeader(http.StatusSeeOther)
}

// Fail answers with the error page: a status and a message key.
func (rq *Request) Fail(status int, key string) {
	rq.errs = FormErrors{}
	rq.Status(status)
	rq.Render("error", map[string]string{"Message": key})
}

// LocalPath returns p when it is a path of the hosted pages ("/ui/...",
// no scheme, host or backslash tricks), else "". Return URLs pass through
// it so a link cannot send a user elsewhere after signing in.
func LocalPath(p string) string {
	if p == "" || strings.ContainsAny(p, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if !strings.HasPrefix(u.Path, "/ui/") || strings.HasPrefix(p, "//") || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
		return ""
	}
	return u.RequestURI()
}

// cleanCode keeps a company code a user or link gave if it looks like one
// (letters, digits, '-', '_', '.', at most 64).
func cleanCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return ""
		}
	}
	return s
}
