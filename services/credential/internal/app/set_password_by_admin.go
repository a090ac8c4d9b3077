package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	libevents "github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// AdminSetPassword is an administrator setting a user's password, either
// temporary (to be changed at the next log-in) or final; an operator's
// password only an operator sets (authn.MayActOn). The user's
// sessions are revoked. The password, the revocations and the
// PasswordSetByAdmin event are one transaction, stamped with its time.
func (a *App) AdminSetPassword(ctx context.Context, p *authn.Principal, accountID, plain string, temporary bool) error {
	tenantID, err := a.adminTenant(ctx, p)
	if err != nil {
		return err
	}
	if err := checkID("id", accountID); err != nil {
		return err
	}
	if plain == "" {
		return errs.Invalid(errs.Field("password", "REQUIRED", "required"))
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	// Setting an operator's password would hand its account over.
	if err := authn.MayActOn(p, subj.Roles); err != nil {
		return err
	}
	c, err := a.preparePassword(ctx, subj, plain, "password", temporary, eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED, "")
	if err != nil {
		return err
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := a.applyPassword(ctx, tx, c, now); err != nil {
			return err
		}
		return tx.Emit(ctx, events.PasswordSetByAdmin(tenantID, accountID, temporary, libevents.ActorOf(p, ""), now))
	})
	if err != nil {
		return err
	}
	a.noteSecurityChange(ctx, tenantID, accountID)
	return nil
}
