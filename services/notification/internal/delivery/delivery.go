// Package delivery is the notification service's domain: what a request
// for an e-mail is, the states a delivery goes through, which SMTP failures
// are worth another attempt and when that attempt is due. It imports no I/O
// package.
package delivery

import (
	"math/rand/v2"
	"net/mail"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

// Template names an e-mail template (the names of the proto enum).
type Template string

// The templates.
const (
	Activation          Template = "ACTIVATION"
	PasswordReset       Template = "PASSWORD_RESET"
	AuthenticatorKey    Template = "AUTHENTICATOR_KEY"
	PasswordChanged     Template = "PASSWORD_CHANGED"
	AccountLocked       Template = "ACCOUNT_LOCKED"
	MFAEnabled          Template = "MFA_ENABLED"
	MFADisabled         Template = "MFA_DISABLED"
	NewDevice           Template = "NEW_DEVICE"
	PasswordExpiresSoon Template = "PASSWORD_EXPIRES_SOON"
)

// Templates lists every template.
var Templates = []Template{Activation, PasswordReset, AuthenticatorKey, PasswordChanged, AccountLocked,
	MFAEnabled, MFADisabled, NewDevice, PasswordExpiresSoon}

// Valid reports whether t is a known template.
func (t Template) Valid() bool {
	for _, k := range Templates {
		if k == t {
			return true
		}
	}
	return false
}

// Required lists the variables a request for t must carry. A link may be
// given whole ("link") or as a token ("token") that the service joins to
// the tenant's link base URL; either satisfies "link".
func (t Template) Required() []string {
	switch t {
	case Activation, PasswordReset:
		return []string{"link"}
	case AuthenticatorKey:
		return []string{"otpauth_uri", "secret"}
	}
	return nil
}

// Status is the state of a delivery.
type Status string

// The states. QUEUED and RETRYING wait for the worker; SENDING is leased to
// one; SENT, FAILED and RATE_LIMITED are final.
const (
	Queued      Status = "QUEUED"
	Sending     Status = "SENDING"
	Sent        Status = "SENT"
	Retrying    Status = "RETRYING"
	Failed      Status = "FAILED"
	RateLimited Status = "RATE_LIMITED"
)

// Final reports whether s is an end state.
func (s Status) Final() bool { return s == Sent || s == Failed || s == RateLimited }

// Request asks for one e-mail.
type Request struct {
	// RequestID is the caller's idempotency key.
	RequestID string
	TenantID  string
	AccountID string
	Template  Template
	// RecipientAddress "" means the account's e-mail address, looked up
	// when the message is sent (security notices from events).
	RecipientAddress string
	RecipientName    string
	// Locale "" means the account's, else the tenant's.
	Locale    string
	Variables map[string]string
}

// Validate checks r, naming every bad field.
func (r *Request) Validate() error {
	var v errs.Violations
	if strings.TrimSpace(r.RequestID) == "" {
		v.Add("request_id", "REQUIRED", "request_id is required")
	} else if len(r.RequestID) > 200 {
		v.Add("request_id", "TOO_LONG", "request_id is at most 200 characters")
	}
	if r.TenantID == "" {
		v.Add("tenant_id", "REQUIRED", "tenant_id is required")
	}
	if !r.Template.Valid() {
		v.Add("template", "REQUIRED", "template is required")
	}
	if r.RecipientAddress == "" {
		if r.AccountID == "" {
			v.Add("recipient.address", "REQUIRED", "recipient.address is required (or account_id, to use the account's)")
		}
	} else if a, err := mail.ParseAddress(r.RecipientAddress); err != nil || a.Address != r.RecipientAddress || a.Name != "" {
		v.Add("recipient.address", "INVALID", "recipient.address is not an e-mail address")
	}
	if strings.ContainsAny(r.RecipientName, "\r\n") {
		v.Add("recipient.display_name", "INVALID", "recipient.display_name has a line break")
	}
	for _, name := range r.Template.Required() {
		if r.Variables[name] == "" && !(name == "link" && r.Variables["token"] != "") {
			v.Add("variables."+name, "REQUIRED", "the "+string(r.Template)+" template needs variable "+name)
		}
	}
	return v.Err()
}

// Delivery is the record of one requested e-mail.
type Delivery struct {
	ID        string
	RequestID string
	TenantID  string
	AccountID string
	Template  Template
	// RecipientAddress is "" until the account's address is looked up.
	RecipientAddress string
	RecipientName    string
	Locale           string
	// Variables is nil once the delivery ended: they may hold secrets.
	Variables     map[string]string
	Status        Status
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SentAt        *time.Time
	NextAttemptAt *time.Time
	// AdmittedAt is when the delivery passed the rate limits (nil before
	// its first attempt got that far).
	AdmittedAt *time.Time
}

// Retry says how often and how long a temporary failure is retried.
type Retry struct {
	// Base is the wait after the first failure; it doubles each time.
	Base time.Duration
	// Max caps one wait.
	Max time.Duration
	// MaxAttempts ends the delivery FAILED after that many attempts.
	MaxAttempts int
}

// DefaultRetry retries for about a day: 30s, 1m, 2m, … capped at 1h, 30
// attempts.
var DefaultRetry = Retry{Base: 30 * time.Second, Max: time.Hour, MaxAttempts: 30}

// WithDefaults fills the zero fields from DefaultRetry.
func (r Retry) WithDefaults() Retry {
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultRetry.MaxAttempts
	}
	return r
}

// Backoff is the wait before the attempt after attempts failed ones:
// exponential, capped, with jitter (a uniform factor in [0.5, 1.5)) so that
// many messages failing together do not all come back together. rnd
// returns a number in [0, 1); nil uses math/rand.
func (r Retry) Backoff(attempts int, rnd func() float64) time.Duration {
	r = r.WithDefaults()
	if rnd == nil {
		rnd = rand.Float64
	}
	d := r.Base
	for i := 1; i < attempts && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	return time.Duration(float64(d) * (0.5 + rnd()))
}

// Outcome classifies the result of one attempt.
type Outcome int

// The outcomes.
const (
	// Delivered: the server accepted the message.
	Delivered Outcome = iota
	// Temporary: try again later (4xx, connection refused, timeout).
	Temporary
	// Permanent: retrying cannot help (5xx, no such account, bad template).
	Permanent
)
