package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// EmailChanged handles, inside the inbox's transaction tx, a change of
// the account's e-mail address at at: the links sent before it went to
// the old address, so they are void (as VoidLinksAfterChange), and a
// link completed before it proved the old address, so GET
// /v1/me/recovery says emailVerified false until a link sent to the new
// one is used. A proof after at (the event came late) stands.
func (a *App) EmailChanged(ctx context.Context, tx store.Tx, tenantID, accountID string, at time.Time) error {
	if _, err := a.VoidLinksAfterChange(ctx, tx, tenantID, accountID, at); err != nil {
		return err
	}
	return tx.ForgetEmailVerified(ctx, tenantID, accountID, a.changedAt(at))
}
