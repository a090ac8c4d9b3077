package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	libevents "github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// RevokeSession ends one of the caller's sessions (a session of someone
// else is NotFound).
func (a *App) RevokeSession(ctx context.Context, p *authn.Principal, id string) error {
	if _, err := a.signedIn(ctx, p); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	var revoked []string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		revoked, err = a.revokeInTx(ctx, tx, p.TenantID, p.AccountID, "", "USER_REVOKED", libevents.ActorOf(p, ""), a.Clock.Now(), id)
		return err
	})
	if err == nil && len(revoked) == 0 {
		return errs.NotFound("SESSION_NOT_FOUND", "session not found")
	}
	return err
}
