// Package account is the account service's domain: tenants with their
// policy, and accounts with their roles and lifecycle. It holds types and
// rules only; it imports no I/O package (libs/authn only for the names of
// the roles).
package account

import (
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
)

// Status is where an account is in its lifecycle.
type Status string

// The account statuses.
const (
	// StatusPending: created, waiting for the user to follow the
	// activation link.
	StatusPending Status = "PENDING"
	// StatusActive: may log in.
	StatusActive Status = "ACTIVE"
	// StatusLocked: refused at log-in until the lock expires or an admin
	// unlocks (see LockReason).
	StatusLocked Status = "LOCKED"
	// StatusDisabled: refused at log-in until an admin reactivates.
	StatusDisabled Status = "DISABLED"
)

// Statuses lists every status, for validating input.
var Statuses = []Status{StatusPending, StatusActive, StatusLocked, StatusDisabled}

// LockReason says why an account is locked.
type LockReason string

// The lock reasons.
const (
	LockNone           LockReason = ""
	LockFailedAttempts LockReason = "FAILED_ATTEMPTS"
	LockInactivity     LockReason = "INACTIVITY"
	LockAdmin          LockReason = "ADMIN"
)

// Role is what an account may do in its tenant. The names, and the rule of
// what each may do, are libs/authn's: access tokens carry them to every
// service.
type Role string

// The roles.
const (
	// RoleAdmin manages the tenant's accounts and policy.
	RoleAdmin Role = authn.RoleAdmin
	// RoleUser is a member of the tenant's staff.
	RoleUser Role = authn.RoleUser
	// RoleClient is an external contact of the tenant: a person (such as
	// a client-portal user) with a role of their own, not a machine
	// client. They log in and reset their password like anyone else.
	RoleClient Role = authn.RoleClient
	// RoleOperator runs the platform; only in the platform's own tenant.
	RoleOperator Role = authn.RoleOperator
)

// Roles lists every role, for validating input.
var Roles = []Role{RoleAdmin, RoleUser, RoleClient, RoleOperator}

// Activation is how a new account gets its first password.
type Activation string

// The activation methods.
const (
	// ActivationEmailLink mails a link that sets the first password; the
	// account is pending until it is used.
	ActivationEmailLink Activation = "EMAIL_LINK"
	// ActivationTemporaryPassword gives the account a password chosen by
	// an admin, to be changed at first log-in.
	ActivationTemporaryPassword Activation = "TEMPORARY_PASSWORD"
)

// Tenant is one customer organisation (or one of its environments: a LIVE
// and a TRAINING tenant are two tenants).
type Tenant struct {
	ID   string
	Code string // typed at log-in ("company code"); unique; lower case
	Name string
	// Policy decides how every flow behaves for the tenant's accounts.
	Policy Policy
	// TermsVersion is the current terms version; empty when none is
	// published.
	TermsVersion string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Account is one identity in a tenant.
type Account struct {
	ID          string
	TenantID    string
	Username    string // as typed at creation; compared case-insensitively
	Email       string
	DisplayName string
	Roles       []Role
	Status      Status
	LockReason  LockReason
	Locale      string
	// AcceptedTermsVersion is the terms version the user last accepted.
	AcceptedTermsVersion string
	CreatedAt            time.Time
	UpdatedAt            time.Time
	LastLoginAt          *time.Time
	ActivatedAt          *time.Time
	// LockedUntil is when a lock after failed log-ins ends by itself; nil
	// for locks that last until an admin unlocks.
	LockedUntil *time.Time
	// FreshStartAt is when an administrator lifted an inactivity lock: the
	// inactivity clock restarts there, without pretending a log-in
	// happened.
	FreshStartAt *time.Time
	// SecurityStamp moves on when another service notes a change of what
	// it reports about this account's security (NoteSecurityChange); no
	// change of the account itself moves it.
	SecurityStamp int64
}

// LastActivity is when the account last showed a sign of life, for the
// inactivity lock: its last log-in, else its activation, else its creation,
// or a later fresh start given by an administrator.
func (a *Account) LastActivity() time.Time {
	t := a.CreatedAt
	switch {
	case a.LastLoginAt != nil:
		t = *a.LastLoginAt
	case a.ActivatedAt != nil:
		t = *a.ActivatedAt
	}
	if a.FreshStartAt != nil && a.FreshStartAt.After(t) {
		t = *a.FreshStartAt
	}
	return t
}

// InactiveAt reports whether an ACTIVE account is due for the inactivity
// lock at now under a tenant that locks after days without activity (0:
// never).
func (a *Account) InactiveAt(now time.Time, days int) bool {
	return days > 0 && a.Status == StatusActive && a.LastActivity().Before(InactivityCutoff(now, days))
}

// InactivityCutoff is the instant before which activity is too old at now
// for a tenant that locks after days without activity.
func InactivityCutoff(now time.Time, days int) time.Time {
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// Terms is one published version of a tenant's terms of use.
type Terms struct {
	TenantID    string
	Version     string
	Text        string
	PublishedAt time.Time
}

// TermsDue reports whether the account must still accept the tenant's
// current terms: the tenant requires terms, has published a version, and
// the account has not accepted that version.
func TermsDue(t *Tenant, a *Account) bool {
	return t.Policy.TermsRequired && t.TermsVersion != "" && a.AcceptedTermsVersion != t.TermsVersion
}

// The log-in steps, as credential.v1.LoginStep names them, in the order a
// log-in asks for them (API.md): the code first, so that a stolen password
// alone changes nothing.
const (
	StepMFA            = "MFA"
	StepAcceptTerms    = "ACCEPT_TERMS"
	StepChangePassword = "CHANGE_PASSWORD"
	StepEnrollMFA      = "ENROLL_MFA"
)

// PendingSteps are the log-in steps still due for a signed-in account, in
// the log-in's order, so that GET /v1/me lists them as the next log-in
// will ask them. pw is what the credential service says of the password
// (nil: nothing), sec what the mfa and recovery services say. MFA is
// asked at every log-in and so never pending; ENROLL_MFA is due where the
// tenant requires two-step verification and the account has no factor,
// not even an e-mailed key waiting for its first code (the log-in asks
// that code instead).
func PendingSteps(t *Tenant, a *Account, pw *PasswordSummary, sec Security) []string {
	due := map[string]bool{
		StepAcceptTerms:    TermsDue(t, a),
		StepChangePassword: pw != nil && pw.Temporary,
		StepEnrollMFA:      t.Policy.MFA.Required && !sec.TOTPEnabled && !sec.EmailedKeyPending,
	}
	var steps []string
	for _, s := range []string{StepMFA, StepAcceptTerms, StepChangePassword, StepEnrollMFA} {
		if due[s] {
			steps = append(steps, s)
		}
	}
	return steps
}

// The prompts, as credential.v1.Prompt names them.
const (
	PromptSetRecoveryInfo     = "SET_RECOVERY_INFO"
	PromptPasswordExpiresSoon = "PASSWORD_EXPIRES_SOON"
)

// Prompts are the reminders GET /v1/me shows, as the log-in does:
// SET_RECOVERY_INFO where the tenant uses security questions and the
// account's recovery information is not complete, PASSWORD_EXPIRES_SOON
// in the tenant's warning window.
func Prompts(t *Tenant, pw *PasswordSummary, sec Security) []string {
	var p []string
	if t.Policy.Recovery.SecurityQuestions && !sec.RecoveryInfoSet {
		p = append(p, PromptSetRecoveryInfo)
	}
	if pw != nil && pw.ExpiresSoon {
		p = append(p, PromptPasswordExpiresSoon)
	}
	return p
}

// Security is what the mfa and recovery services say of an account, for
// its own overview (GET /v1/me).
type Security struct {
	// TOTPEnabled: a confirmed TOTP factor.
	TOTPEnabled bool
	// EmailedKeyPending: no confirmed factor, but a key e-mailed on
	// request waits for its first code.
	EmailedKeyPending bool
	// RecoveryInfoSet: the recovery information is complete for the
	// tenant's policy.
	RecoveryInfoSet bool
}

// LockExpired reports whether a has a timed lock that has run out at now:
// such an account is active again, the next time anyone looks.
func (a *Account) LockExpired(now time.Time) bool {
	return a.Status == StatusLocked && a.LockReason == LockFailedAttempts && a.LockedUntil != nil && !now.Before(*a.LockedUntil)
}

// HasRole reports whether the account holds r.
func (a *Account) HasRole(r Role) bool { return slices.Contains(a.Roles, r) }

// RoleNames is the account's roles as libs/authn names them.
func (a *Account) RoleNames() []string {
	out := make([]string, len(a.Roles))
	for i, r := range a.Roles {
		out[i] = string(r)
	}
	return out
}

// PasswordSummary is what the credential service tells about an account's
// password, for the account's own overview (GET /v1/me).
type PasswordSummary struct {
	Temporary   bool
	ExpiresSoon bool
	// PINSet: the account has a PIN (for its devices).
	PINSet    bool
	ChangedAt *time.Time
	ExpiresAt *time.Time
}
