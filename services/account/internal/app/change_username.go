package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ChangeUsername gives an account of the caller's tenant a new login ID,
// under the rules of a new account's username. The old one stops working
// at once and stays reserved from other accounts for
// Options.UsernameReuse.
func (a *App) ChangeUsername(ctx context.Context, p *authn.Principal, id, newUsername string) (*account.Account, error) {
	_, acct, err := a.adminChange(ctx, p, id, "", func(tx store.Tx, t *account.Tenant, acct *account.Account) ([]store.Event, error) {
		if err := account.ValidateUsername("newUsername", newUsername, acct.Email, t.Policy); err != nil {
			return nil, err
		}
		if newUsername == acct.Username {
			return nil, nil
		}
		old := acct.Username
		acct.Username = newUsername
		if err := a.moveUsername(ctx, tx, acct, old, "newUsername"); err != nil {
			return nil, err
		}
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			return nil, renameField(err, "username", "newUsername")
		}
		return []store.Event{accountevents.UsernameChanged(acct, old, events.ActorOf(p, ""))}, nil
	})
	return acct, err
}

// moveUsername checks that acct may take its new username (not recently
// given up by another account; field names the request field) and
// releases old at the time of the change, unless the two differ only in
// case.
func (a *App) moveUsername(ctx context.Context, tx store.Tx, acct *account.Account, old, field string) error {
	if account.FoldUsername(old) == account.FoldUsername(acct.Username) {
		return nil
	}
	if err := a.checkUsernameNotHeld(ctx, tx, acct.TenantID, acct.Username, acct.ID, field); err != nil {
		return err
	}
	return tx.ReleaseUsername(ctx, acct.TenantID, acct.ID, old, acct.UpdatedAt)
}
