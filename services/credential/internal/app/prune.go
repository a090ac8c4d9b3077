package app

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// ErrPruneRunning is Prune's answer while another prune (of this replica
// or another) is running.
var ErrPruneRunning = errors.New("app: a prune is already running")

// pruneLock names the lock that lets one replica prune at a time.
const pruneLock = "credential_prune"

// pruneBatch is how many rows one prune transaction deletes at most.
const pruneBatch = 1000

// expiredKeep is how long refresh tokens and log-in tickets are kept
// past their expiry. An expired token refreshes nothing and answers as an
// unknown one; a spent token is kept to its expiry (RefreshTTL), to catch
// its reuse while its session may live.
const expiredKeep = 24 * time.Hour

// Prune deletes refresh tokens and log-in tickets a day past their
// expiry, and what ended more than keep ago: sessions revoked or expired
// (no refresh token of theirs left) and revoked device keys. Without it
// the tables grow by a row per log-in and per refresh for ever, and every
// account's session history with them. An ended session stops counting as a known device once it
// is deleted (new-device notices look back keep plus the session's
// life). One replica prunes at a time (ErrPruneRunning for the others).
func (a *App) Prune(ctx context.Context, keep time.Duration) (store.Pruned, error) {
	release, ok, err := a.Store.TryExclusive(ctx, pruneLock)
	if err != nil {
		return store.Pruned{}, err
	}
	if !ok {
		return store.Pruned{}, ErrPruneRunning
	}
	defer release()
	now := a.Clock.Now()
	return a.Store.Prune(ctx, now.Add(-expiredKeep), now.Add(-keep), pruneBatch)
}

// RunPrune prunes once now and then every interval until ctx ends.
// Errors are logged: the next prune tries again.
func (a *App) RunPrune(ctx context.Context, keep, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		p, err := a.Prune(ctx, keep)
		switch {
		case errors.Is(err, ErrPruneRunning):
		case err != nil && ctx.Err() == nil:
			a.Logger.Error("prune of ended sessions failed", "err", err,
				"sessions", p.Sessions, "refresh_tokens", p.RefreshTokens, "login_tickets", p.LoginTickets, "devices", p.Devices)
		case p != store.Pruned{}:
			a.Logger.Info("pruned ended sessions", "sessions", p.Sessions, "refresh_tokens", p.RefreshTokens,
				"login_tickets", p.LoginTickets, "devices", p.Devices, "ended_before", a.Clock.Now().Add(-keep))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
