// Package app holds the recovery service's use cases, one per file named
// after it: issuing links (issue_link.go: activation and reset, from an
// event, an administrator or another service), the forgot-password queue
// and its worker, inspect, verify and complete of a reset, completing an
// activation, voiding links, and the security questions. What several
// share has a file named for it: requirements.go (what a reset needs),
// set_password.go (the new password through the credential service),
// note_security_change.go (telling the account service that what
// GetRecoveryInfo reports changed).
//
// The app reads through the store and changes through store.Store.InTx,
// with every change and its events in one transaction whose time (taken
// inside it) stamps both; it never hashes nor calls a peer inside one.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// Account is what the recovery service needs of an account.
type Account struct {
	ID, TenantID, TenantCode, Username string
	// Status is PENDING, ACTIVE, LOCKED or DISABLED.
	Status string
	Roles  []string
}

// Account statuses.
const (
	StatusPending  = "PENDING"
	StatusActive   = "ACTIVE"
	StatusLocked   = "LOCKED"
	StatusDisabled = "DISABLED"
)

// Tenant is a tenant with the parts of its policy recovery follows.
type Tenant struct {
	ID, Code string
	Policy   Policy
}

// Policy is the tenant policy as recovery reads it.
type Policy struct {
	EmailLink         bool
	SecurityQuestions bool
	QuestionsRequired int
	ResetRequiresMFA  bool
	Rules             PasswordRules
}

// PasswordRules are the password rules shown on a reset form.
type PasswordRules struct {
	MinLength, MinUppercase, MinLowercase, MinDigits, MinSymbols, HistoryCount int
	CheckBreached                                                              bool
}

// Directory is what recovery asks the account service.
type Directory interface {
	// ResolveLogin finds the account a tenant code and a username or
	// e-mail address name; errs NotFound when either is unknown.
	ResolveLogin(ctx context.Context, tenantCode, login string) (*Account, error)
	// Lookup returns an account of a tenant; errs NotFound when none.
	Lookup(ctx context.Context, tenantID, accountID string) (*Account, error)
	// Tenant returns a tenant with its policy.
	Tenant(ctx context.Context, tenantID string) (*Tenant, error)
	// TenantByCode returns a tenant by its code; errs NotFound when none.
	TenantByCode(ctx context.Context, code string) (*Tenant, error)
	// MarkActivated makes a PENDING account ACTIVE (idempotent).
	MarkActivated(ctx context.Context, tenantID, accountID string) error
	// ReleaseLockout ends a failed-attempts lock (never an administrator's
	// or the inactivity lock).
	ReleaseLockout(ctx context.Context, tenantID, accountID string) error
	// NoteSecurityChange tells the account service that what
	// GetRecoveryInfo reports of the account changed, so that GET /v1/me
	// stops using the answer it kept (idempotent).
	NoteSecurityChange(ctx context.Context, tenantID, accountID string) error
}

// Credentials is what recovery asks the credential service.
type Credentials interface {
	// SetInitialPassword sets the first password (activation).
	SetInitialPassword(ctx context.Context, tenantID, accountID, password string) error
	// SetPasswordAfterReset sets a new password after a reset (policy,
	// history, sessions revoked, PasswordChanged).
	SetPasswordAfterReset(ctx context.Context, tenantID, accountID, password string) error
	// RecordFailedAttempt counts a wrong proof towards the tenant lockout.
	RecordFailedAttempt(ctx context.Context, tenantID, accountID, reason string) error
}

// Factors is what recovery asks the mfa service. An mfa service that does
// not answer (or answers Unimplemented) is an error: a reset never goes
// past a second factor it could not ask about.
type Factors interface {
	// NeedsCode reports whether the account has a confirmed factor or an
	// e-mailed key waiting for its first code.
	NeedsCode(ctx context.Context, tenantID, accountID string) (bool, error)
	// Verify checks a TOTP code or a recovery code (spending it).
	Verify(ctx context.Context, tenantID, accountID, code string) (bool, error)
}

// Hasher hashes and verifies security answers (passhash.Hasher).
type Hasher interface {
	Hash(ctx context.Context, plain string) (string, error)
	Verify(ctx context.Context, encoded, plain string) (ok, needsRehash bool, err error)
}

// Options are the service's settings for the use cases.
type Options struct {
	// ActivationTTL and ResetTTL are the lifetimes of the links (defaults
	// 72h and 30m).
	ActivationTTL, ResetTTL time.Duration
	// MaxVerifyTries is how many wrong proofs a reset link takes (default
	// 3).
	MaxVerifyTries int
	// Poll is the longest the reset worker sleeps without a wake-up
	// (default 1s); Lease how long it holds a request (default 1m).
	Poll, Lease time.Duration
	Logger      *slog.Logger
}

// Deps are the App's collaborators.
type Deps struct {
	Store       store.Store
	Clock       clock.Clock
	Accounts    Directory
	Credentials Credentials
	Factors     Factors
	Hasher      Hasher
}

// App runs the use cases.
type App struct {
	Deps
	opts Options
	log  *slog.Logger
	wake chan struct{}
}

// New returns the use cases.
func New(d Deps, opts Options) *App {
	if opts.ActivationTTL <= 0 {
		opts.ActivationTTL = recovery.DefaultActivationTTL
	}
	if opts.ResetTTL <= 0 {
		opts.ResetTTL = recovery.DefaultResetTTL
	}
	if opts.MaxVerifyTries <= 0 {
		opts.MaxVerifyTries = recovery.DefaultMaxVerifyTries
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	return &App{Deps: d, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Wake tells the reset worker a request is waiting.
func (a *App) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}
