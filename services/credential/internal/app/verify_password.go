package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
)

// VerifyPassword checks an account's password for another service (it
// counts towards the lockout like a log-in).
func (a *App) VerifyPassword(ctx context.Context, tenantID, accountID, plain string) (bool, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return false, err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return false, err
	}
	_, ok, err := a.checkPassword(ctx, subj, "password", plain, Client{})
	return ok, err
}
