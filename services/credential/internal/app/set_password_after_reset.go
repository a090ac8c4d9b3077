package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// SetPasswordAfterReset is the recovery service setting the password a
// user chose through an activation or reset link.
func (a *App) SetPasswordAfterReset(ctx context.Context, tenantID, accountID, plain string, activation bool) error {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	cause := eventsv1.PasswordChanged_Cause_PASSWORD_RESET
	if activation {
		cause = eventsv1.PasswordChanged_Cause_ACTIVATION
	}
	if err := a.replacePassword(ctx, subj, plain, "newPassword", false, cause, ""); err != nil {
		return err
	}
	a.noteSecurityChange(ctx, tenantID, accountID)
	return nil
}
