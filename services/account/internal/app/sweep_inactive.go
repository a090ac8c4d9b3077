package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ErrSweepRunning is SweepInactive's answer while another sweep (of this
// replica or another) is running.
var ErrSweepRunning = errors.New("app: an inactivity sweep is already running")

// sweepLock names the lock that lets one replica sweep at a time.
const sweepLock = "inactivity_sweep"

// SweepInactive locks, reason INACTIVITY, every ACTIVE account of every
// tenant with inactivityLockDays whose last activity (log-in, else
// activation, else creation, or a later fresh start) is older than that,
// with an AccountLocked event each, and ends their sessions. It works in
// batches of Options.SweepBatch accounts, one short transaction each, in
// id order; one replica sweeps at a time (ErrSweepRunning for the others),
// and the lock is checked again row by row, so no account is locked twice.
func (a *App) SweepInactive(ctx context.Context) (int, error) {
	release, ok, err := a.store.TryExclusive(ctx, sweepLock)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrSweepRunning
	}
	defer release()
	// Activity is judged against the start of the sweep; each batch's
	// locks and events carry the time of their own transaction.
	now := a.clock.Now()
	total := 0
	after := ""
	for {
		tenants, err := a.store.ListTenants(ctx, store.TenantQuery{After: after, Limit: 500})
		if err != nil {
			return total, err
		}
		for _, t := range tenants {
			n, err := a.sweepTenant(ctx, t, now)
			total += n
			if err != nil {
				return total, fmt.Errorf("sweep tenant %s: %w", t.Code, err)
			}
		}
		if len(tenants) < 500 {
			return total, nil
		}
		after = tenants[len(tenants)-1].ID
	}
}

func (a *App) sweepTenant(ctx context.Context, t *account.Tenant, now time.Time) (int, error) {
	days := t.Policy.InactivityLockDays
	if days <= 0 {
		return 0, nil
	}
	cutoff := account.InactivityCutoff(now, days)
	actor := events.ActorOf(nil, fmt.Sprintf("no log-in for %d days", days))
	total := 0
	for after := ""; ; {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var locked []*account.Account
		err := a.store.InTx(ctx, func(tx store.Tx) error {
			var err error
			if locked, after, err = tx.LockInactive(ctx, t.ID, cutoff, after, a.opts.SweepBatch, a.clock.Now()); err != nil {
				return err
			}
			evs := make([]store.Event, len(locked))
			for i, acct := range locked {
				evs[i] = accountevents.AccountLocked(acct, actor)
			}
			return tx.EmitAll(ctx, evs)
		})
		if err != nil {
			return total, err
		}
		total += len(locked)
		a.opts.Metrics.locked(account.LockInactivity, len(locked))
		for _, acct := range locked {
			a.revokeSessions(ctx, acct, "ACCOUNT_LOCKED")
		}
		if after == "" {
			return total, nil
		}
	}
}

// RunSweeper sweeps once now and then every interval until ctx ends.
// Errors are logged: the next sweep tries again.
func (a *App) RunSweeper(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := a.SweepInactive(ctx)
		switch {
		case errors.Is(err, ErrSweepRunning):
		case err != nil && ctx.Err() == nil:
			a.opts.Logger.Error("inactivity sweep failed", "err", err, "locked", n)
		case n > 0:
			a.opts.Logger.Info("inactivity sweep", "locked", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
