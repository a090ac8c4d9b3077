package account

import (
	"reflect"
	"strings"

	"github.com/latchkey/latchkey/libs/errs"
)

// Policy is a tenant's settings for every flow (API.md, "Tenant policy").
// Field names in JSON are those of the REST API, so the stored form and the
// API read the same.
type Policy struct {
	UsernameIsEmail    bool           `json:"usernameIsEmail"`
	Password           PasswordPolicy `json:"password"`
	Lockout            LockoutPolicy  `json:"lockout"`
	InactivityLockDays int            `json:"inactivityLockDays"`
	TermsRequired      bool           `json:"termsRequired"`
	Recovery           RecoveryPolicy `json:"recovery"`
	MFA                MFAPolicy      `json:"mfa"`
	PIN                PINPolicy      `json:"pin"`
	Locale             string         `json:"locale"`
	BrandName          string         `json:"brandName"`
	FromAddress        string         `json:"fromAddress"`
	LinkBaseURL        string         `json:"linkBaseUrl"`
	Session            SessionPolicy  `json:"session"`
}

// PasswordPolicy is what a password must be.
type PasswordPolicy struct {
	MinLength         int  `json:"minLength"`
	MinUppercase      int  `json:"minUppercase"`
	MinLowercase      int  `json:"minLowercase"`
	MinDigits         int  `json:"minDigits"`
	MinSymbols        int  `json:"minSymbols"`
	HistoryCount      int  `json:"historyCount"`
	MaxAgeDays        int  `json:"maxAgeDays"`
	ExpiryWarningDays int  `json:"expiryWarningDays"`
	CheckBreached     bool `json:"checkBreached"`
	// TemporaryDays is how long a temporary password may be used before
	// an admin must set a new one; 0 = no limit.
	TemporaryDays int `json:"temporaryPasswordDays"`
}

// LockoutPolicy is when failed log-ins lock an account.
type LockoutPolicy struct {
	MaxFailedAttempts int `json:"maxFailedAttempts"`
	// LockoutMinutes is how long the lock lasts; 0 means until an admin
	// unlocks.
	LockoutMinutes int `json:"lockoutMinutes"`
}

// RecoveryPolicy is how a user gets back in.
type RecoveryPolicy struct {
	EmailLink                 bool `json:"emailLink"`
	SecurityQuestions         bool `json:"securityQuestions"`
	SecurityQuestionsRequired int  `json:"securityQuestionsRequired"`
	ResetRequiresMFA          bool `json:"resetRequiresMfa"`
}

// MFAPolicy is two-step verification.
type MFAPolicy struct {
	Required         bool `json:"required"`
	AllowedSkewSteps int  `json:"allowedSkewSteps"`
}

// PINPolicy is PIN unlock on mobile devices.
type PINPolicy struct {
	Enabled bool `json:"enabled"`
	// Length is the exact number of digits; 0 allows 4 to 8.
	Length int `json:"length"`
}

// SessionPolicy is how long a signed-in session lasts; the credential
// service enforces it when a session is refreshed.
type SessionPolicy struct {
	// MaxLifetimeHours counts from the log-in: refreshing cannot stretch
	// it.
	MaxLifetimeHours int `json:"maxLifetimeHours"`
	// IdleHours is how long a session's refresh token may stay unused.
	IdleHours int `json:"idleHours"`
}

// Defaults of SessionPolicy: a month of use, two weeks away.
const (
	DefaultSessionMaxLifetimeHours = 30 * 24
	DefaultSessionIdleHours        = 14 * 24
)

// DefaultPolicy is what a tenant gets for every field it does not set:
// NIST SP 800-63B-style length over composition, lockout after 10 failures
// for 15 minutes, e-mail recovery, one step of TOTP clock skew.
func DefaultPolicy() Policy {
	return Policy{
		Password: PasswordPolicy{
			MinLength:         12,
			HistoryCount:      0,
			MaxAgeDays:        0,
			ExpiryWarningDays: 14,
			TemporaryDays:     7,
		},
		Lockout:  LockoutPolicy{MaxFailedAttempts: 10, LockoutMinutes: 15},
		Recovery: RecoveryPolicy{EmailLink: true, SecurityQuestionsRequired: 1},
		MFA:      MFAPolicy{AllowedSkewSteps: 1},
		Locale:   "en",
		Session:  SessionPolicy{MaxLifetimeHours: DefaultSessionMaxLifetimeHours, IdleHours: DefaultSessionIdleHours},
	}
}

// Limits of the policy's numbers.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
	MaxHistoryCount   = 24
)

// Validate checks every field and reports all that are wrong at once. Field
// paths are prefixed with prefix (e.g. "policy").
func (p Policy) Validate(prefix string) error {
	var v errs.Violations
	f := func(name string) string { return prefix + "." + name }
	rangeCheck := func(name string, val, lo, hi int) {
		if val < lo || val > hi {
			v.Add(f(name), "OUT_OF_RANGE", rangeText(lo, hi))
		}
	}
	pw := p.Password
	rangeCheck("password.minLength", pw.MinLength, MinPasswordLength, MaxPasswordLength)
	rangeCheck("password.minUppercase", pw.MinUppercase, 0, MaxPasswordLength)
	rangeCheck("password.minLowercase", pw.MinLowercase, 0, MaxPasswordLength)
	rangeCheck("password.minDigits", pw.MinDigits, 0, MaxPasswordLength)
	rangeCheck("password.minSymbols", pw.MinSymbols, 0, MaxPasswordLength)
	if pw.MinUppercase+pw.MinLowercase+pw.MinDigits+pw.MinSymbols > MaxPasswordLength {
		v.Add(f("password"), "UNSATISFIABLE", "the required character counts add up to more than the longest password allowed")
	}
	rangeCheck("password.historyCount", pw.HistoryCount, 0, MaxHistoryCount)
	rangeCheck("password.maxAgeDays", pw.MaxAgeDays, 0, 3650)
	rangeCheck("password.expiryWarningDays", pw.ExpiryWarningDays, 0, 365)
	rangeCheck("password.temporaryPasswordDays", pw.TemporaryDays, 0, 365)
	rangeCheck("lockout.maxFailedAttempts", p.Lockout.MaxFailedAttempts, 1, 100)
	rangeCheck("lockout.lockoutMinutes", p.Lockout.LockoutMinutes, 0, 525600)
	rangeCheck("inactivityLockDays", p.InactivityLockDays, 0, 3650)
	rangeCheck("recovery.securityQuestionsRequired", p.Recovery.SecurityQuestionsRequired, 0, 5)
	if p.Recovery.SecurityQuestions && p.Recovery.SecurityQuestionsRequired < 1 {
		v.Add(f("recovery.securityQuestionsRequired"), "OUT_OF_RANGE", "must be at least 1 when security questions are used")
	}
	rangeCheck("mfa.allowedSkewSteps", p.MFA.AllowedSkewSteps, 0, 10)
	if p.PIN.Length != 0 {
		rangeCheck("pin.length", p.PIN.Length, 4, 12)
	}
	// A year at most: a session that outlives that is a standing
	// credential, and an hour at least, so it can be refreshed at all.
	rangeCheck("session.maxLifetimeHours", p.Session.MaxLifetimeHours, 1, 8760)
	rangeCheck("session.idleHours", p.Session.IdleHours, 1, 8760)
	if p.Locale != "" && !validLocale(p.Locale) {
		v.Add(f("locale"), "INVALID_FORMAT", "a language tag such as en or nl-NL")
	}
	if len(p.BrandName) > 100 {
		v.Add(f("brandName"), "TOO_LONG", "at most 100 characters")
	}
	if p.FromAddress != "" && !ValidEmail(p.FromAddress) {
		v.Add(f("fromAddress"), "INVALID_FORMAT", "an e-mail address")
	}
	if p.LinkBaseURL != "" && !validBaseURL(p.LinkBaseURL) {
		v.Add(f("linkBaseUrl"), "INVALID_FORMAT", "an absolute http or https URL")
	}
	return v.Err()
}

// ChangedPolicyFields names the fields that differ between two policies by
// their JSON paths, as the REST API spells them ("password.minLength"), in
// the order of the Policy type.
func ChangedPolicyFields(before, after Policy) []string {
	var changed []string
	diffFields(reflect.ValueOf(before), reflect.ValueOf(after), "", &changed)
	return changed
}

// diffFields adds to changed the path of every field that differs between
// the structs a and b, descending into nested structs.
func diffFields(a, b reflect.Value, prefix string, changed *[]string) {
	for i := range a.NumField() {
		f := a.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		path := prefix + name
		if f.Type.Kind() == reflect.Struct {
			diffFields(a.Field(i), b.Field(i), path+".", changed)
		} else if !a.Field(i).Equal(b.Field(i)) {
			*changed = append(*changed, path)
		}
	}
}
