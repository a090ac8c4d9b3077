package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/keyring"
)

// Cookie names. The session cookie carries the __Host- prefix (Secure, no
// Domain, Path=/) except on plain HTTP to a loopback address, where a
// browser would drop a Secure cookie (see cookieMode).
const (
	sessionCookieSecure   = "__Host-latchkey_session"
	sessionCookieLoopback = "latchkey_session"
	langCookie            = "latchkey_lang"
	rememberCookie        = "latchkey_remember"
)

// sessionMaxAge bounds how long a sealed session is accepted after it was
// first made, whatever the tokens inside say: a stolen cookie does not live
// for ever, and an abandoned half-finished flow is forgotten.
const sessionMaxAge = 24 * time.Hour

// Session is everything the pages remember about one browser, sealed in
// its cookie. Short JSON names keep the cookie small (a browser keeps at
// most about 4 KB of one cookie).
type Session struct {
	// Created is when the session was first made (Unix seconds).
	Created int64 `json:"c"`
	// CSRF is the synchronizer token every form of this session carries.
	CSRF string `json:"x"`

	// Tenant and Username are who signs in (or signed in).
	Tenant   string `json:"t,omitempty"`
	Username string `json:"u,omitempty"`

	// The signed-in session's tokens; AccessExp is the access token's
	// expiry (Unix seconds).
	Access    string `json:"a,omitempty"`
	Refresh   string `json:"r,omitempty"`
	AccessExp int64  `json:"ae,omitempty"`
	SessionID string `json:"s,omitempty"`

	// Reauth is the fresh access token of a step-up (/v1/auth/reauth),
	// admitting security-setting calls until ReauthExp.
	Reauth    string `json:"ra,omitempty"`
	ReauthExp int64  `json:"re,omitempty"`

	// Ticket is the login ticket between the steps of a log-in; Step is
	// the step it waits for (a LoginStep name) and Rules the password
	// rules that came with CHANGE_PASSWORD.
	Ticket string `json:"k,omitempty"`
	Step   string `json:"st,omitempty"`
	Rules  *Rules `json:"pr,omitempty"`
	// Enroll is the authenticator enrolment under way at the ENROLL_MFA
	// step (so a mistyped first code can be tried again).
	Enroll *Enrollment `json:"en,omitempty"`

	// LinkToken is an e-mailed link's token, taken off the address bar;
	// LinkKind says which page it belongs to ("activate", "reset").
	LinkToken string `json:"lt,omitempty"`
	LinkKind  string `json:"lk,omitempty"`
	// ResetTicket is what a verified reset link gives (code or answers
	// checked), until the new password is set.
	ResetTicket string `json:"rt,omitempty"`

	// Return is where to go after signing in (a local /ui/ path).
	Return string `json:"rtn,omitempty"`
	// Notice is a message key shown once, on the next page rendered
	// (e.g. "your password is set" on the sign-in page).
	Notice string `json:"n,omitempty"`
}

// Rules are the password rules a form lists (credential.v1.PasswordRules).
type Rules struct {
	MinLength    int32 `json:"l,omitempty"`
	MinUppercase int32 `json:"u,omitempty"`
	MinLowercase int32 `json:"o,omitempty"`
	MinDigits    int32 `json:"d,omitempty"`
	MinSymbols   int32 `json:"s,omitempty"`
	HistoryCount int32 `json:"h,omitempty"`
}

// Enrollment is a pending authenticator enrolment of the ENROLL_MFA step.
type Enrollment struct {
	Secret string `json:"s"`
	QR     []byte `json:"q,omitempty"`
}

// SignedIn reports whether the session holds tokens.
func (s *Session) SignedIn() bool { return s.Refresh != "" }

// clearLogin forgets a log-in under way.
func (s *Session) clearLogin() {
	s.Ticket, s.Step, s.Rules, s.Enroll = "", "", nil, nil
}

// clearLink forgets an e-mailed link's token and what it gave.
func (s *Session) clearLink() {
	s.LinkToken, s.LinkKind, s.ResetTicket = "", "", ""
}

// signOut forgets everything but the CSRF token.
func (s *Session) signOut() {
	*s = Session{Created: s.Created, CSRF: s.CSRF, Notice: s.Notice}
}

// newSession is a fresh session with its own CSRF token.
func newSession(now time.Time) *Session {
	return &Session{Created: now.Unix(), CSRF: randomToken()}
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionCodec seals and opens session cookies.
type sessionCodec struct{ ring *keyring.Ring }

// sessionAD binds a sealed value to its use: a value sealed for something
// else under the same ring does not open as a session.
var sessionAD = []byte("latchkey ui session v1")

func (c sessionCodec) encode(s *Session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	id, sealed := c.ring.Seal(plain, sessionAD)
	return id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// decode opens a cookie value; any failure (tampered, a dropped key, too
// old) is simply no session.
func (c sessionCodec) decode(v string, now time.Time) (*Session, bool) {
	id, b64, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return nil, false
	}
	plain, err := c.ring.Open(id, sealed, sessionAD)
	if err != nil {
		return nil, false
	}
	var s Session
	if json.Unmarshal(plain, &s) != nil || s.CSRF == "" {
		return nil, false
	}
	created := time.Unix(s.Created, 0)
	if now.Sub(created) > sessionMaxAge || created.After(now.Add(time.Minute)) {
		return nil, false
	}
	return &s, true
}

// cookieMode is how this request's cookies are set: Secure with the
// __Host- prefix, except on plain HTTP straight to a loopback address (a
// developer's `latchkey run`), where browsers would not send them back.
type cookieMode struct{ secure bool }

func (m cookieMode) sessionName() string {
	if m.secure {
		return sessionCookieSecure
	}
	return sessionCookieLoopback
}

func (m cookieMode) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
	}
}

// equalToken compares two tokens in constant time.
func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
