// Package app holds the credential service's use cases, one per file:
// log-in and its steps, tokens and sessions, and passwords set by users,
// administrators and other services.
package app

import (
	"context"
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
	// created.
	ImportAccounts(ctx context.Context, tenantID string, rows []credential.ImportRow, validateOnly bool) ([]credential.ImportOutcome, bool, error)
	// RecordTermsAcceptance records the user's acceptance of a terms version.
	RecordTermsAcceptance(ctx context.Context, tenantID, accountID, version string) error
}

// Factors is what the credential service asks the mfa service.
type Factors interface {
	// TOTPEnrolled reports whether the account has a confirmed TOTP factor.
	TOTPEnrolled(ctx context.Context, tenantID, accountID string) (bool, error)
	// Verify checks a TOTP code (or, with recovery, a recovery code).
	Verify(ctx context.Context, tenantID, accountID, code string, recovery bool) (bool, error)
}

// Recovery is what the credential service asks the recovery service.
type Recovery interface {
	// InfoSet reports whether the account's recovery information is
	// complete for its tenant's policy.
	InfoSet(ctx context.Context, tenantID, accountID string) (bool, error)
}

// Deps are the App's collaborators.
type Deps struct {
	Store    store.Store
	Clock    clock.Clock
	Hasher   *password.Hasher
	Checker  *password.Checker
	Issuer   *token.Issuer
	Accounts Directory
	Factors  Factors
	Recovery Recovery
	// RefreshTTL is how long a refresh token lives unused (default 30 days).
	RefreshTTL time.Duration
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
