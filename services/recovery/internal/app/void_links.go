package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// RevokeLinkTokens voids every usable link of an account (another service
// asking) and returns how many.
func (a *App) RevokeLinkTokens(ctx context.Context, tenantID, accountID string) (int, error) {
	if err := checkRef(tenantID, accountID); err != nil {
		return 0, err
	}
	var n int
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		var err error
		n, err = tx.VoidLinkTokens(ctx, tenantID, accountID, "", now, now)
		return err
	})
	return n, err
}

// VoidLinksAfterChange voids, inside the inbox's transaction tx, the
// account's links issued at or before at: its password changed, it was
// disabled, or its username or e-mail address changed, so a link sent
// before no longer stands for the account as it is. Links issued after
// the change (a new reset link) stay. The token a completed reset used is
// spent already.
func (a *App) VoidLinksAfterChange(ctx context.Context, tx store.Tx, tenantID, accountID string, at time.Time) (int, error) {
	if err := checkRef(tenantID, accountID); err != nil {
		return 0, err
	}
	return tx.VoidLinkTokens(ctx, tenantID, accountID, "", a.changedAt(at), a.Clock.Now())
}

// changedAt is the time of a change another service reported at at: now
// when the event did not say, or said a time still to come (a clock
// ahead of ours).
func (a *App) changedAt(at time.Time) time.Time {
	if now := a.Clock.Now(); at.IsZero() || at.After(now) {
		return now
	}
	return at
}
