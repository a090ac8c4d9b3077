// Package credential is the credential service's domain: passwords and
// their policy, sessions and refresh tokens, log-in tickets and the steps a
// log-in must pass. It holds types and rules only; it imports no I/O
// package.
package credential

import (
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

// Password is an account's current password.
type Password struct {
	TenantID  string
	AccountID string
	Hash      string // PHC string (Argon2id, or a legacy format until rehashed)
	ChangedAt time.Time
	// Temporary passwords were chosen by an admin (or an import) and must
	// be replaced at the next log-in.
	Temporary bool
}

// Session is one signed-in device or browser.
type Session struct {
	ID         string
	TenantID   string
	AccountID  string
	DeviceName string
	IP         string
	UserAgent  string
	AMR        []string // how the user authenticated: "pwd", "otp", "pin"
	AuthTime   time.Time
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  *time.Time
	// DeviceID is the device whose PIN key came with the session: handed
	// out at its password log-in, or used for its PIN log-in ("" none).
	// Ending the session revokes the key.
	DeviceID string
	// PINKey is true while that device's key is live (read, not written).
	PINKey bool
}

// RefreshToken is one link in a session's chain of refresh tokens; only its
// SHA-256 is stored. A token is used once: using it gives the next one.
type RefreshToken struct {
	Hash      [32]byte
	SessionID string
	TenantID  string
	AccountID string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when it was spent (nil: not yet); Successor the token that
	// replaced it, sealed (token.SealSuccessor; nil until the refresh that
	// spent it has committed its new token).
	UsedAt    *time.Time
	Successor []byte
}

// RefreshReuseGrace is how long after a refresh token is spent the same
// token, presented again, gets the token that replaced it instead of
// ending the session: two requests of one browser or app that refresh at
// once (two tabs, two gateway replicas) must not look like a theft. A
// thief within those seconds gets the same successor as the client, so
// whichever of them refreshes second is still caught as a reuse.
const RefreshReuseGrace = 10 * time.Second

// Device is a phone or tablet that may unlock with a PIN: it got a device
// key at a password log-in that named it. Only the key's SHA-256 is kept.
type Device struct {
	ID         string
	TenantID   string
	AccountID  string
	KeyHash    [32]byte
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// MaxPINFailures is how many wrong PINs in a row revoke a device's key
// (the password is needed again), and how many wrong current PINs close
// the change of the PIN with the PIN (the password is needed instead).
// Each attempt is counted before the PIN is checked, so parallel guesses
// cannot pass it.
const MaxPINFailures = 5

// Step is what a log-in must still do before it gets tokens.
type Step string

// The log-in steps, in the order a log-in asks for them.
const (
	// StepMFA: give the current TOTP code (or a recovery code). It comes
	// first, so a stolen password alone cannot even change the password.
	StepMFA Step = "MFA"
	// StepAcceptTerms: accept the tenant's current terms version.
	StepAcceptTerms Step = "ACCEPT_TERMS"
	// StepChangePassword: the password is temporary or expired.
	StepChangePassword Step = "CHANGE_PASSWORD"
	// StepEnrollMFA: the tenant requires two-step verification and the
	// account has none.
	StepEnrollMFA Step = "ENROLL_MFA"
)

// Prompt is a reminder returned with the tokens; it does not block.
type Prompt string

// The prompts.
const (
	PromptSetRecoveryInfo     Prompt = "SET_RECOVERY_INFO"
	PromptPasswordExpiresSoon Prompt = "PASSWORD_EXPIRES_SOON"
)

// LoginTicket carries a log-in between steps. Only its SHA-256 is stored;
// it is single use (each step gives a new one) and short-lived.
type LoginTicket struct {
	Hash       [32]byte
	TenantID   string
	AccountID  string
	Step       Step
	AMR        []string
	AuthTime   time.Time
	DeviceName string
	IP         string
	UserAgent  string
	ExpiresAt  time.Time
	// EnrollmentStarted: at the ENROLL_MFA step, the enrolment was started
	// (startTotpEnrollment) and the ticket takes the app's first code.
	EnrollmentStarted bool
}

// TicketTTL is how long a log-in ticket lives.
const TicketTTL = 5 * time.Minute

// MaxTicketCodeFailures is how many wrong codes end a log-in ticket: the
// user logs in again (each wrong code also counts as a failed log-in).
const MaxTicketCodeFailures = 3

// FactorStatus is what the mfa service says of an account's second factor.
type FactorStatus struct {
	// TOTPEnabled: a confirmed TOTP factor.
	TOTPEnabled bool
	// EmailedKeyPending: no confirmed factor, but a key e-mailed on request
	// waits for its first code.
	EmailedKeyPending bool
}

// TOTPEnrollment is a TOTP factor being enrolled: what the authenticator
// app needs.
type TOTPEnrollment struct {
	Secret     string // base32, for manual entry
	OtpauthURI string
	QRPNG      []byte
}

// ErrEnrollmentNotStarted is the answer to a first code of an enrolment
// that was not started (or that mfa no longer holds): the ENROLL_MFA step
// starts with startTotpEnrollment.
func ErrEnrollmentNotStarted() error {
	return errs.Invalid(errs.Field("startTotpEnrollment", "TOTP_ENROLLMENT_NOT_STARTED",
		"start the enrolment first (startTotpEnrollment: true), then give the authenticator app's first code"))
}

// Facts are what decides a log-in's remaining steps.
type Facts struct {
	Now                  time.Time
	Password             *Password
	MaxAgeDays           int
	ExpiryWarningDays    int
	TermsRequired        bool
	TermsVersion         string // the tenant's current version ("" = none published)
	AcceptedTermsVersion string
	TOTPEnrolled         bool
	// MFAKeyPending: no confirmed factor, but an authenticator key was
	// e-mailed on request and waits for its first code, which confirms it.
	// The log-in asks for that code (MFA) rather than a new enrolment.
	MFAKeyPending     bool
	MFARequired       bool
	SecurityQuestions bool // the tenant uses security questions
	RecoveryInfoSet   bool
}

// PasswordExpired reports whether f's password is past the tenant's
// maximum age.
func (f Facts) PasswordExpired() bool {
	return f.MaxAgeDays > 0 && !f.Now.Before(f.Password.ChangedAt.Add(days(f.MaxAgeDays)))
}

// Steps returns the steps still due, in order, given those already done.
func (f Facts) Steps(done map[Step]bool) []Step {
	var steps []Step
	add := func(s Step, due bool) {
		if due && !done[s] {
			steps = append(steps, s)
		}
	}
	add(StepMFA, f.TOTPEnrolled || f.MFAKeyPending)
	add(StepAcceptTerms, f.TermsRequired && f.TermsVersion != "" && f.AcceptedTermsVersion != f.TermsVersion)
	add(StepChangePassword, f.Password.Temporary || f.PasswordExpired())
	add(StepEnrollMFA, f.MFARequired && !f.TOTPEnrolled && !f.MFAKeyPending)
	return steps
}

// Prompts returns the reminders that go with the tokens.
func (f Facts) Prompts() []Prompt {
	var p []Prompt
	if f.SecurityQuestions && !f.RecoveryInfoSet {
		p = append(p, PromptSetRecoveryInfo)
	}
	if f.MaxAgeDays > 0 && !f.PasswordExpired() {
		warnFrom := f.Password.ChangedAt.Add(days(f.MaxAgeDays) - days(f.ExpiryWarningDays))
		if !f.Now.Before(warnFrom) {
			p = append(p, PromptPasswordExpiresSoon)
		}
	}
	return p
}

// ExpiresAt is when a password changed at changedAt expires under a
// maximum age of maxAgeDays (> 0).
func ExpiresAt(changedAt time.Time, maxAgeDays int) time.Time {
	return changedAt.Add(days(maxAgeDays))
}

// ExpiryWarningWindow is which passwords are in the tenant's warning
// window at now, as the log-in's PASSWORD_EXPIRES_SOON prompt sees them:
// those changed after changedAfter (not yet expired) and at or before
// changedUpTo (expiring within warningDays). ok is false when the tenant
// has no expiry or no warning.
func ExpiryWarningWindow(now time.Time, maxAgeDays, warningDays int) (changedAfter, changedUpTo time.Time, ok bool) {
	if maxAgeDays <= 0 || warningDays <= 0 {
		return time.Time{}, time.Time{}, false
	}
	return now.Add(-days(maxAgeDays)), now.Add(-days(maxAgeDays) + days(warningDays)), true
}

// ExpiryWarning is a password whose coming expiry is to be told.
type ExpiryWarning struct {
	AccountID string
	ExpiresAt time.Time
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
