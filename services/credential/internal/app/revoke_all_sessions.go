package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// RevokeAllSessions ends every session of an account and every PIN key of
// its devices, for another service (an admin locked or disabled it).
func (a *App) RevokeAllSessions(ctx context.Context, tenantID, accountID, reason string) (int, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return 0, err
	}
	var n int
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		revoked, err := a.endAccess(ctx, tx, tenantID, accountID, "", reason, a.Clock.Now())
		n = len(revoked)
		return err
	})
	return n, err
}
