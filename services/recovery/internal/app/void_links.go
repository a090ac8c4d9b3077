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
	now := a.Clock.Now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	return tx.VoidLinkTokens(ctx, tenantID, accountID, "", at, now)
}
