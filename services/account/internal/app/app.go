// Package app holds the account service's use cases, one per file. Each
// checks who is calling, validates in the domain, and changes the store in
// one transaction together with its events.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// App runs the use cases.
type App struct {
	store       store.Store
	clock       clock.Clock
	credentials Credentials
	opts        Options
	// tenants serves GET /v1/me's tenant (tenantCache says why that is
	// safe); every change of a tenant forgets it.
	tenants *tenantCache
	// security keeps the peers' answers GET /v1/me shows (securityCache
	// says when they are still good).
	security *securityCache
}

// Credentials is what the account service asks the credential service,
// which keeps every password and session.
type Credentials interface {
	// SetTemporary stores the temporary password of acct (which need not
	// exist yet), checked against the tenant's rules, or against rules
	// when they are given. A refused password is an errs Invalid on
	// "temporaryPassword".
	SetTemporary(ctx context.Context, acct *account.Account, password string, rules *account.PasswordPolicy) error
	// RevokeAllSessions ends every session of an account at once.
	RevokeAllSessions(ctx context.Context, tenantID, accountID, reason string) error
	// ClearFailedAttempts restarts an account's failed log-in count.
	ClearFailedAttempts(ctx context.Context, tenantID, accountID string) error
	// PasswordSummary tells about an account's password.
	PasswordSummary(ctx context.Context, tenantID, accountID string) (*account.PasswordSummary, error)
}

// Factors is what the account service asks the mfa service.
type Factors interface {
	// FactorStatus says whether the account has TOTP on, or an e-mailed
	// key waiting for its first code. A service that cannot answer is an
	// error (Unavailable), never "no factor".
	FactorStatus(ctx context.Context, tenantID, accountID string) (totpEnabled, emailedKeyPending bool, err error)
}

// RecoveryInfo is what the account service asks the recovery service.
type RecoveryInfo interface {
	// RecoveryInfoSet says whether the account's recovery information is
	// complete for its tenant's policy; a service that cannot answer is
	// an error (Unavailable).
	RecoveryInfoSet(ctx context.Context, tenantID, accountID string) (bool, error)
}

// Options are the use cases' settings.
type Options struct {
	// Factors and Recovery are the mfa and recovery services, which GET
	// /v1/me asks; without them it answers Unavailable.
	Factors  Factors
	Recovery RecoveryInfo
	// UsernameReuse is how long a released username stays reserved for
	// the account that gave it up; 0 or less: not at all.
	UsernameReuse time.Duration
	// SweepBatch is how many accounts one transaction of the inactivity
	// sweep locks at most (default 500).
	SweepBatch int
	Logger     *slog.Logger
	// Metrics count the locks (nil: not counted).
	Metrics *Metrics
}

// New returns the use cases over s; creds may be nil where no credential
// service runs (temporary passwords are then unavailable, and sessions
// are not revoked).
func New(s store.Store, clk clock.Clock, creds Credentials, opts Options) *App {
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &App{store: s, clock: clk, credentials: creds, opts: opts, tenants: newTenantCache(), security: newSecurityCache()}
}

// adminTenant returns the tenant an administrator call acts in, by the
// rule of authn.AdminTenant. Everything an admin call reads or changes is
// scoped to this tenant.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (*account.Tenant, error) {
	scope, err := authn.AdminTenant(p)
	if err != nil {
		return nil, err
	}
	if scope.TenantCode != "" {
		return a.store.GetTenantByCode(ctx, scope.TenantCode)
	}
	return a.store.GetTenant(ctx, scope.TenantID)
}

// checkAccountRef checks the tenant and account ids of a call from
// another service.
func checkAccountRef(tenantID, accountID string) error {
	return errs.JoinInvalid(ids.Check("tenantId", tenantID), ids.Check("accountId", accountID))
}
