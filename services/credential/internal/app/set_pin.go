package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

func errPINDisabled() error {
	return errs.FailedPrecondition("PIN_DISABLED", "this tenant does not use PINs")
}

// SetPIN sets or changes the signed-in user's PIN. Changing it needs the
// current PIN or the password; setting the first one needs the password.
// The new PIN must be numeric, of the tenant's length, and not a repeated
// or sequential run of digits. Devices keep their keys: they unlock with
// the new PIN.
func (a *App) SetPIN(ctx context.Context, p *authn.Principal, currentPIN, currentPassword, newPIN string, c Client) error {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return err
	}
	if !subj.Policy.PINEnabled {
		return errPINDisabled()
	}
	if err := password.CheckPIN(newPIN, subj.Policy.PINLength, "newPin"); err != nil {
		return err
	}
	current, err := a.Store.GetPIN(ctx, subj.TenantID, subj.AccountID)
	if errs.Is(err, errs.KindNotFound) {
		current, err = "", nil
	}
	if err != nil {
		return err
	}
	switch {
	case currentPIN != "" && current != "":
		ok, _, err := a.Hasher.Verify(ctx, current, currentPIN)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Invalid(errs.Field("currentPin", "PIN_WRONG", "the current PIN is wrong"))
		}
	case currentPassword != "":
		_, ok, err := a.checkPassword(ctx, subj, currentPassword, c)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Invalid(errs.Field("currentPassword", "PASSWORD_WRONG", "the password is wrong"))
		}
	case current == "":
		return errs.Invalid(errs.Field("currentPassword", "REQUIRED", "setting a first PIN needs the password"))
	default:
		return errs.Invalid(errs.Field("currentPin", "REQUIRED", "changing the PIN needs the current PIN or the password"))
	}
	hash, err := a.Hasher.Hash(ctx, newPIN)
	if err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := tx.SavePIN(ctx, subj.TenantID, subj.AccountID, hash, now); err != nil {
			return err
		}
		return tx.Emit(ctx, events.PinChanged(subj.TenantID, subj.AccountID, current == "", now))
	})
}
