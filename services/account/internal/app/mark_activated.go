package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// MarkActivated records that a pending account set its first password
// through its activation link (the recovery service asks, after the
// credential service stored the password). Only a pending account changes:
// an activation never unlocks or re-enables an account an admin locked or
// disabled meanwhile, and a repeat changes nothing.
func (a *App) MarkActivated(ctx context.Context, tenantID, accountID string) (*account.Account, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.changeAccount(ctx, tenantID, accountID, func(_ store.Tx, acct *account.Account) ([]store.Event, error) {
		if acct.Status != account.StatusPending {
			return nil, nil
		}
		now := acct.UpdatedAt
		acct.Status, acct.ActivatedAt = account.StatusActive, &now
		return []store.Event{accountevents.AccountActivated(acct, events.ActorOf(nil, "activation link"))}, nil
	})
}
