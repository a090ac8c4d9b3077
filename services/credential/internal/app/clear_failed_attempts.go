package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// ClearFailedAttempts forgets an account's failures (an admin unlocked it).
func (a *App) ClearFailedAttempts(ctx context.Context, tenantID, accountID string) error {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error { return tx.ResetAttempts(ctx, tenantID, accountID) })
}
