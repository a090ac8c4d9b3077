package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// ErrSweepRunning is WarnExpiringPasswords' answer while another sweep
// (of this replica or another) is running.
var ErrSweepRunning = errors.New("app: an expiry-warning sweep is already running")

// expiryWarningLock names the lock that lets one replica sweep at a time.
const expiryWarningLock = "password_expiry_warning"

// expiryWarningBatch is how many warnings one transaction writes at most.
const expiryWarningBatch = 500

// WarnExpiringPasswords tells, once per expiry, the owner of every password
// that entered its tenant's warning window (expiryWarningDays before
// maxAgeDays, as the log-in's PASSWORD_EXPIRES_SOON prompt): a
// PasswordExpiresSoon event each, which notification e-mails with the
// date. Temporary passwords are left out (the next log-in replaces them).
// One replica sweeps at a time (ErrSweepRunning for the others), and the
// store remembers each warning in the transaction of its event, so no
// expiry is warned twice. It returns the number of warnings.
func (a *App) WarnExpiringPasswords(ctx context.Context) (int, error) {
	release, ok, err := a.Store.TryExclusive(ctx, expiryWarningLock)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrSweepRunning
	}
	defer release()
	total := 0
	for after := ""; ; {
		tenants, err := a.Store.PasswordTenants(ctx, after, 500)
		if err != nil {
			return total, err
		}
		for _, tenantID := range tenants {
			n, err := a.warnTenant(ctx, tenantID)
			total += n
			if err != nil {
				return total, fmt.Errorf("expiry warnings of tenant %s: %w", tenantID, err)
			}
		}
		if len(tenants) < 500 {
			return total, nil
		}
		after = tenants[len(tenants)-1]
	}
}

func (a *App) warnTenant(ctx context.Context, tenantID string) (int, error) {
	policy, err := a.Accounts.Policy(ctx, tenantID)
	if errs.Is(err, errs.KindNotFound) {
		return 0, nil // passwords of a tenant the account service no longer knows
	}
	if err != nil {
		return 0, err
	}
	// The window is judged against the start of the tenant's sweep; each
	// batch's events carry the time of their own transaction.
	changedAfter, changedUpTo, ok := credential.ExpiryWarningWindow(a.Clock.Now(), policy.MaxAgeDays, policy.ExpiryWarningDays)
	if !ok {
		return 0, nil
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			now := a.Clock.Now()
			due, err := tx.ClaimExpiryWarnings(ctx, tenantID, policy.MaxAgeDays, changedAfter, changedUpTo, now, expiryWarningBatch)
			if err != nil {
				return err
			}
			for _, w := range due {
				if err := tx.Emit(ctx, events.PasswordExpiresSoon(tenantID, w.AccountID, w.ExpiresAt, now)); err != nil {
					return err
				}
			}
			n = len(due)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expiryWarningBatch {
			return total, nil
		}
	}
}

// RunExpiryWarnings sweeps once now and then every interval until ctx
// ends. Errors are logged: the next sweep tries again.
func (a *App) RunExpiryWarnings(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := a.WarnExpiringPasswords(ctx)
		switch {
		case errors.Is(err, ErrSweepRunning):
		case err != nil && ctx.Err() == nil:
			a.Logger.Error("password expiry warnings failed", "err", err, "warned", n)
		case n > 0:
			a.Logger.Info("password expiry warnings", "warned", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
