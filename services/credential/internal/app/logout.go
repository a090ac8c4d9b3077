package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Logout ends the session of a refresh token. An unknown or spent token is
// not an error: the session is gone either way. The token is spent and
// the session revoked with its event in one transaction.
func (a *App) Logout(ctx context.Context, refresh string) error {
	if refresh == "" {
		return errs.Invalid(errs.Field("refreshToken", "REQUIRED", "required"))
	}
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		used, _, err := tx.UseRefreshToken(ctx, token.HashSecret(refresh), now)
		if err != nil {
			return err
		}
		_, err = a.revokeInTx(ctx, tx, used.TenantID, used.AccountID, "", "LOGOUT", nil, now, used.SessionID)
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil
	}
	return err
}
