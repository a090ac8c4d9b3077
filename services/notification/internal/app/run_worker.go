package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
)

// RunWorker sends due deliveries until ctx is cancelled. Failures to reach
// the database are logged and retried, never returned.
func (a *App) RunWorker(ctx context.Context) error {
	backoff := time.Duration(0)
	var pruned time.Time
	for {
		if now := a.clock.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			keep := a.opts.Keep
			if keep <= 0 {
				keep = 30 * 24 * time.Hour
			}
			if _, err := a.store.Prune(ctx, now.Add(-keep)); err != nil && ctx.Err() == nil {
				a.log.Warn("notification worker: prune failed", "err", err)
			}
		}
		n, err := a.DeliverDue(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			a.log.Warn("notification worker: claim failed; retrying", "err", err, "retry_in", backoff)
			if !clock.Wait(ctx, backoff, nil) {
				return nil
			}
			continue
		}
		backoff = 0
		if n > 0 {
			continue
		}
		if !clock.Wait(ctx, a.opts.Poll, a.wake) {
			return nil
		}
	}
}
