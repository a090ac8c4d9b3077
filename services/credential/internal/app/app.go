// Package app holds the credential service's use cases, one per file named
// after it (login.go, continue_login.go, set_password_by_admin.go, …): log-in
// and its steps, tokens and sessions, and passwords set by users,
// administrators and other services. What several use cases share has a
// file named for it: callers.go (who may call), password_check.go (the
// failed-attempt count), password_change.go (checks, hash, and the change
// with its events in one transaction), login_steps.go (steps due and how a
// log-in ends), session_revocation.go, note_security_change.go (telling
// the account service of a committed change of the password or PIN).
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
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Directory is what the credential service asks the account service.
type Directory interface {
	// ResolveLogin finds the account a log-in names; errs NotFound when the
	// tenant or the login is unknown (the two are not told apart).
	ResolveLogin(ctx context.Context, tenantCode, login string) (*credential.Subject, error)
	// Lookup returns an account of a tenant.
	Lookup(ctx context.Context, tenantID, accountID string) (*credential.Subject, error)
	// TenantID returns the id of the tenant with code, or errs NotFound.
	TenantID(ctx context.Context, code string) (string, error)
	// Policy returns a tenant's policy.
	Policy(ctx context.Context, tenantID string) (credential.Policy, error)
	// RecordLockout locks an account after failed log-ins, until until
	// (nil: until an admin unlocks).
	RecordLockout(ctx context.Context, tenantID, accountID string, until *time.Time) error
	// ImportAccounts creates (or only checks) the accounts of an import,
	// all or none; it returns one outcome per row and whether they were
	// created. A key that made an import before gets that import's
	// outcomes, created (with validateOnly too), and nothing is created.
	ImportAccounts(ctx context.Context, tenantID string, rows []credential.ImportRow, validateOnly bool, key credential.ImportKey) ([]credential.ImportOutcome, bool, error)
	// RecordTermsAcceptance records the user's acceptance of a terms version.
	RecordTermsAcceptance(ctx context.Context, tenantID, accountID, version string) error
	// NoteSecurityChange tells the account service that what this service
	// reports of the account (GetPasswordStatus) changed, so that the
	// answer it keeps for GET /v1/me is asked again.
	NoteSecurityChange(ctx context.Context, tenantID, accountID string) error
}

// Factors is what the credential service asks the mfa service. Every
// method fails closed: an mfa service that cannot answer is an error
// (Unavailable), never "no factor".
type Factors interface {
	// Status reports the account's second factor: a confirmed TOTP
	// factor, or a key e-mailed on request waiting for its first code.
	Status(ctx context.Context, tenantID, accountID string) (credential.FactorStatus, error)
	// Verify checks a TOTP code (or, with recovery, a recovery code); the
	// first correct code of an e-mailed key confirms that factor.
	Verify(ctx context.Context, tenantID, accountID, code string, recovery bool) (bool, error)
	// StartEnrollment starts a TOTP enrolment (the ENROLL_MFA step).
	StartEnrollment(ctx context.Context, tenantID, accountID string) (*credential.TOTPEnrollment, error)
	// FinishEnrollment confirms it with the app's first code and returns
	// the recovery codes; ok is false for a wrong code, and an enrolment
	// mfa does not hold is credential.ErrEnrollmentNotStarted.
	FinishEnrollment(ctx context.Context, tenantID, accountID, code string) (recoveryCodes []string, ok bool, err error)
}

// Recovery is what the credential service asks the recovery service.
type Recovery interface {
	// InfoSet reports whether the account's recovery information is
	// complete for its tenant's policy.
	InfoSet(ctx context.Context, tenantID, accountID string) (bool, error)
}

// Hasher hashes and verifies passwords and PINs on a bounded pool
// (passhash.Hasher); a busy pool is an Unavailable error.
type Hasher interface {
	// Hash returns the PHC string of plain with the current parameters.
	Hash(ctx context.Context, plain string) (string, error)
	// Verify reports whether plain matches encoded, and whether encoded
	// should be replaced by a fresh Hash.
	Verify(ctx context.Context, encoded, plain string) (ok, needsRehash bool, err error)
	// DummyVerify does the work of a Verify that fails, for answers that
	// must take as long as a wrong secret's.
	DummyVerify(ctx context.Context, plain string) error
	// MatchesAny reports whether plain matches any of encoded.
	MatchesAny(ctx context.Context, plain string, encoded []string) (bool, error)
	// Enter admits a caller that will hash for its whole course, or
	// returns the busy error at once when too many are inside; leave is
	// called when the caller is done.
	Enter() (leave func(), err error)
}

// Deps are the App's collaborators.
type Deps struct {
	Store    store.Store
	Clock    clock.Clock
	Hasher   Hasher
	Checker  *password.Checker
	Issuer   *token.Issuer
	Accounts Directory
	Factors  Factors
	Recovery Recovery
	// RefreshTTL is how long a refresh token lives unused (default 30 days).
	RefreshTTL time.Duration
	// Logger logs what the background sweeps did, and the account
	// service's failures to take note of a change (default slog.Default).
	Logger *slog.Logger
	// Metrics count log-ins by outcome (nil: not counted).
	Metrics *Metrics
}

// App runs the use cases.
type App struct {
	Deps
}

// New returns the use cases.
func New(d Deps) *App {
	if d.RefreshTTL <= 0 {
		d.RefreshTTL = 30 * 24 * time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Checker == nil {
		d.Checker = &password.Checker{}
	}
	return &App{Deps: d}
}

// Client is what is known of the device or browser making a call.
type Client struct {
	IP        string
	UserAgent string
}
