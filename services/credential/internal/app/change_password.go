package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// ChangePassword is a signed-in user replacing their password: the
// current one, then a new one that meets the policy and the history. The
// caller's own session stays; every other one is revoked.
func (a *App) ChangePassword(ctx context.Context, p *authn.Principal, current, next string, c Client) error {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return err
	}
	var v errs.Violations
	if current == "" {
		v.Add("currentPassword", "REQUIRED", "required")
	}
	if next == "" {
		v.Add("newPassword", "REQUIRED", "required")
	}
	// Both caps first: a request refused for its new password hashes
	// nothing, not even its current one.
	if err := errs.JoinInvalid(v.Err(), capped("currentPassword", current, maxPasswordLen),
		capped("newPassword", next, maxPasswordLen)); err != nil {
		return err
	}
	_, ok, err := a.checkPassword(ctx, subj, "currentPassword", current, c)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Invalid(errs.Field("currentPassword", "PASSWORD_WRONG", "the current password is wrong"))
	}
	if err := a.replacePassword(ctx, subj, next, "newPassword", false, eventsv1.PasswordChanged_Cause_SELF_SERVICE, p.SessionID); err != nil {
		return err
	}
	a.noteSecurityChange(ctx, subj.TenantID, subj.AccountID)
	return nil
}
