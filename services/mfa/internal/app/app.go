// Package app holds the mfa service's use cases, one per file: the
// signed-in user's factors (enrol, confirm, disable, recovery codes), the
// administrator's reset, the log-in's enrolment step and code check for
// the other services, and the key requests by e-mail with their worker.
// Every change is made in one store transaction together with its event;
// network calls and hashing happen outside it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// Tenant is what the mfa service needs of a tenant and its policy.
type Tenant struct {
	ID, Code, Name, BrandName string
	// MFARequired is the policy's mfa.required: the factor may not be
	// turned off.
	MFARequired bool
	// SkewSteps is the policy's mfa.allowedSkewSteps.
	SkewSteps int
}

// Issuer is the name authenticator apps show for the tenant: its brand,
// else its name.
func (t *Tenant) Issuer() string {
	if t.BrandName != "" {
		return t.BrandName
	}
	return t.Name
}

// Account is what the mfa service needs of an account.
type Account struct {
	ID, TenantID, Username string
	Roles                  []string
	// Disabled accounts may not sign in: they get no key by e-mail.
	Disabled bool
}

// Directory is the account service.
type Directory interface {
	// Tenant returns a tenant with its policy; errs NotFound when none.
	Tenant(ctx context.Context, tenantID string) (*Tenant, error)
	// TenantByCode returns a tenant by its code; errs NotFound when none.
	TenantByCode(ctx context.Context, code string) (*Tenant, error)
	// Account returns an account of the tenant; errs NotFound when none.
	Account(ctx context.Context, tenantID, accountID string) (*Account, error)
	// ResolveLogin finds the account a user names by tenant code and
	// username or e-mail; errs NotFound when the tenant or the account
	// does not exist.
	ResolveLogin(ctx context.Context, tenantCode, login string) (*Account, *Tenant, error)
	// NoteSecurityChange tells the account service that what
	// GetFactorStatus reports of the account may have changed, so it asks
	// again instead of using the answer it keeps.
	NoteSecurityChange(ctx context.Context, tenantID, accountID string) error
}

// Mailer is the notification service.
type Mailer interface {
	// SendKey asks for the AUTHENTICATOR_KEY e-mail to the account: the
	// QR code of uri and the secret as text. requestID makes it
	// idempotent.
	SendKey(ctx context.Context, requestID, tenantID, accountID, secret, uri string) error
}

// Options are the service's settings for the use cases.
type Options struct {
	// Poll is the longest the key-request worker sleeps without a wake-up
	// (default 1s); Lease is how long a request it works on stays
	// reserved, and so when a failed one is tried again (default 30s).
	Poll, Lease time.Duration
	// MaxKeyAttempts is how often a key request is tried before it is
	// dropped (default 10).
	MaxKeyAttempts int
	Logger         *slog.Logger
}

// App is the mfa service's use cases.
type App struct {
	store  store.Store
	clock  clock.Clock
	dir    Directory
	mailer Mailer
	ring   *keyring.Ring
	hasher *passhash.Hasher
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
}

// New returns the use cases over st: TOTP secrets sealed with ring,
// recovery codes hashed with hasher.
func New(st store.Store, clk clock.Clock, dir Directory, mailer Mailer, ring *keyring.Ring, hasher *passhash.Hasher, opts Options) *App {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.MaxKeyAttempts <= 0 {
		opts.MaxKeyAttempts = 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &App{store: st, clock: clk, dir: dir, mailer: mailer, ring: ring, hasher: hasher, opts: opts, log: opts.Logger,
		wake: make(chan struct{}, 1)}
}

// checkAccountRef checks the tenant and account ids of a call from
// another service.
func checkAccountRef(tenantID, accountID string) error {
	return errs.JoinInvalid(ids.Check("tenantId", tenantID), ids.Check("accountId", accountID))
}

// skew is the tenant's accepted clock skew in steps.
func skew(t *Tenant) int { return max(0, min(t.SkewSteps, factor.MaxSkewSteps)) }

// newFactor seals secret into a new factor of the account in state st.
func (a *App) newFactor(tenantID, accountID, secret string, st factor.State, now time.Time) *factor.Factor {
	f := &factor.Factor{ID: ids.New(), TenantID: tenantID, AccountID: accountID, State: st, CreatedAt: now}
	f.KeyID, f.Sealed = a.ring.Seal([]byte(secret), factor.AD(tenantID, accountID, f.ID))
	return f
}

// secret opens f's TOTP secret.
func (a *App) secret(f *factor.Factor) (string, error) {
	plain, err := a.ring.Open(f.KeyID, f.Sealed, factor.AD(f.TenantID, f.AccountID, f.ID))
	if err != nil {
		return "", fmt.Errorf("factor %s: %w", f.ID, err)
	}
	return string(plain), nil
}

// factor returns the account's factor, nil when it has none.
func (a *App) factor(ctx context.Context, tenantID, accountID string) (*factor.Factor, error) {
	f, err := a.store.Factor(ctx, tenantID, accountID)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil
	}
	return f, err
}

// recoveryCodeSet makes a new set of recovery codes for the account: the
// codes to show once, and their rows (hashed). It hashes outside any
// transaction.
func (a *App) recoveryCodeSet(ctx context.Context, tenantID, accountID string, now time.Time) ([]string, []*factor.RecoveryCode, error) {
	shown, normalized := factor.NewRecoveryCodeSet()
	rows := make([]*factor.RecoveryCode, 0, len(normalized))
	for _, n := range normalized {
		h, err := a.hasher.Hash(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, &factor.RecoveryCode{ID: ids.New(), TenantID: tenantID, AccountID: accountID,
			Lookup: n[:factor.LookupLen], Hash: h, CreatedAt: now})
	}
	return shown, rows, nil
}

// reseal re-encrypts f's secret under the ring's primary key when another
// key sealed it (lazy rotation), in tx.
func (a *App) reseal(ctx context.Context, tx store.Tx, f *factor.Factor, secret string) error {
	if f.KeyID == a.ring.Primary() {
		return nil
	}
	keyID, sealed := a.ring.Seal([]byte(secret), factor.AD(f.TenantID, f.AccountID, f.ID))
	_, err := tx.Reseal(ctx, f.ID, f.KeyID, keyID, sealed)
	return err
}

// noteSecurityChange tells the account service that the account's factor
// status (TOTP on, an e-mailed key pending) may have changed: GET /v1/me
// keeps this service's answer until the account's security stamp moves,
// so without the note the user would see the old status. Every change of
// what GetFactorStatus reports calls it after its transaction committed
// and before answering, so the user's next read sees the change. The
// change stands whatever happens here, so a failure is logged, not
// returned: the account service keeps an answer only briefly, which
// bounds how long it can show the old one. The call outlives the
// caller's cancellation (a client gone after the commit still leaves a
// noted change), within two seconds.
func (a *App) noteSecurityChange(ctx context.Context, tenantID, accountID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := a.dir.NoteSecurityChange(ctx, tenantID, accountID); err != nil {
		a.log.WarnContext(ctx, "mfa: the account service was not told of a factor change; GET /v1/me may show the old status until its kept answer expires",
			"tenant_id", tenantID, "account_id", accountID, "err", err)
	}
}

// Reasons of the mfa service's refusals.
const (
	ReasonTOTPAlreadyEnabled = "TOTP_ALREADY_ENABLED"
	ReasonTOTPNotEnabled     = "TOTP_NOT_ENABLED"
	ReasonNoEnrollment       = "TOTP_ENROLLMENT_NOT_FOUND"
	ReasonEnrollmentEnded    = "TOTP_ENROLLMENT_ENDED"
	ReasonCodeInvalid        = "TOTP_CODE_INVALID"
	ReasonMFARequired        = "MFA_REQUIRED"
)

var errTOTPAlreadyEnabled = errs.FailedPrecondition(ReasonTOTPAlreadyEnabled,
	"two-step verification is already on; turn it off first to enrol another authenticator")

// errFactorUnreadable is logged, never shown: the ring lacks the key a
// factor was sealed with, or the row was changed.
var errFactorUnreadable = errors.New("mfa: a factor's secret does not open with the configured key ring (LATCHKEY_MFA_SECRET_KEYS)")
