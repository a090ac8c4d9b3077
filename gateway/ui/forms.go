package ui

import (
	"encoding/base64"
	"html/template"
	"net/url"
	"strings"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// required records "required" for an empty field.
func required(rq *Request, field, value string) {
	if strings.TrimSpace(value) == "" {
		rq.FieldError(field, "reason.REQUIRED")
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// signOutKeepReturn starts a new log-in: forgets the old one's state but
// where to go after it.
func (s *Session) signOutKeepReturn() {
	ret := s.Return
	s.signOut()
	s.Return = ret
}

// remembered is the company code and username of the "remember me" cookie.
func (rq *Request) remembered() (tenant, username string) {
	c, err := rq.R.Cookie(rememberCookie)
	if err != nil {
		return "", ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", ""
	}
	t, u, _ := strings.Cut(string(b), "\n")
	if len(u) > 320 {
		return "", ""
	}
	return cleanCode(t), u
}

// rulesOf copies the API's password rules.
func rulesOf(r *credentialv1.PasswordRules) *Rules {
	if r == nil {
		return nil
	}
	return &Rules{MinLength: r.GetMinLength(), MinUppercase: r.GetMinUppercase(), MinLowercase: r.GetMinLowercase(),
		MinDigits: r.GetMinDigits(), MinSymbols: r.GetMinSymbols(), HistoryCount: r.GetHistoryCount()}
}

// Rule is one password rule as a form lists it; Kind and Min let the
// script tick it off ("length", "upper", "lower", "digit", "symbol"; no
// Kind: not checkable in the browser).
type Rule struct {
	Text string
	Kind string
	Min  int32
}

// PasswordForm is the data of a new-password form.
type PasswordForm struct {
	Rules []Rule
	Extra any
}

// passwordData lists the rules in the page's language.
func passwordData(rq *Request, r *Rules) PasswordForm {
	var out []Rule
	if r != nil {
		add := func(kind string, n int32, key string) {
			if n > 0 {
				out = append(out, Rule{Text: rq.T(key, n), Kind: kind, Min: n})
			}
		}
		add("length", r.MinLength, "rule.length")
		add("upper", r.MinUppercase, "rule.upper")
		add("lower", r.MinLowercase, "rule.lower")
		add("digit", r.MinDigits, "rule.digit")
		add("symbol", r.MinSymbols, "rule.symbol")
		if r.HistoryCount > 0 {
			out = append(out, Rule{Text: rq.T("rule.history", r.HistoryCount)})
		}
	}
	return PasswordForm{Rules: out}
}

// newPasswordTwice reads new_password and new_password_again; false (with
// the errors recorded) when one is missing or they differ.
func newPasswordTwice(rq *Request) (string, bool) {
	pw, again := rq.R.PostForm.Get("new_password"), rq.R.PostForm.Get("new_password_again")
	required(rq, "new_password", pw)
	required(rq, "new_password_again", again)
	if rq.HasErrors() {
		return "", false
	}
	if pw != again {
		rq.FieldError("new_password_again", "password.mismatch")
		return "", false
	}
	return pw, true
}

// groupKey writes a base32 key in groups of four, easier to type.
func groupKey(k string) string {
	var b strings.Builder
	for i, c := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dataURL is an image inlined in the page (CSP img-src data:).
func dataURL(contentType string, b []byte) template.URL {
	return template.URL("data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(b))
}
