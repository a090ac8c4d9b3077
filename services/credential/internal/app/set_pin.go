package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

func errPINDisabled() error {
	return errs.FailedPrecondition("PIN_DISABLED", "this tenant does not use PINs")
}

// SetPIN sets or changes the signed-in user's PIN. Changing it needs the
// current PIN or the password; setting the first one needs the password.
// Wrong current PINs are counted before the PIN is checked, like wrong
// PINs at log-in: after credential.MaxPINFailures only the password
// changes it. The new PIN must be numeric, of the tenant's length, and not
// a repeated or sequential run of digits. Devices keep their keys: they
// unlock with the new PIN.
func (a *App) SetPIN(ctx context.Context, p *authn.Principal, currentPIN, currentPassword, newPIN string, c Client) error {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return err
	}
	if !subj.Policy.PINEnabled {
		return errPINDisabled()
	}
	if err := errs.JoinInvalid(capped("currentPin", currentPIN, maxPINLen), password.CheckPIN(newPIN, subj.Policy.PINLength, "newPin")); err != nil {
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
		if err := a.checkCurrentPIN(ctx, subj, current, currentPIN, c); err != nil {
			return err
		}
	case currentPassword != "":
		_, ok, err := a.checkPassword(ctx, subj, "currentPassword", currentPassword, c)
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
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := tx.SavePIN(ctx, subj.TenantID, subj.AccountID, hash, now); err != nil {
			return err
		}
		return tx.Emit(ctx, events.PinChanged(subj.TenantID, subj.AccountID, current == "", now))
	})
	if err != nil {
		return err
	}
	a.noteSecurityChange(ctx, subj.TenantID, subj.AccountID)
	return nil
}

// checkCurrentPIN verifies the current PIN plain against its hash for a
// change of the PIN, counting the attempt first so that parallel guesses
// get no more than credential.MaxPINFailures checks; a wrong one is a
// LoginFailed. A locked or disabled account's PIN is not checked (it is
// wrong for the caller).
func (a *App) checkCurrentPIN(ctx context.Context, subj *credential.Subject, hash, plain string, c Client) error {
	wrong := errs.Invalid(errs.Field("currentPin", "PIN_WRONG", "the current PIN is wrong"))
	if reason := inactiveReason(subj); reason != "" {
		if err := a.refuseInactive(ctx, subj, plain, reason, c); err != nil {
			return err
		}
		return wrong
	}
	var count int
	var reserved bool
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		count, reserved, err = tx.ReservePINAttempt(ctx, subj.TenantID, subj.AccountID)
		return err
	})
	if err != nil {
		return err
	}
	if !reserved {
		return errs.Invalid(errs.Field("currentPin", "PIN_ATTEMPTS_EXHAUSTED",
			"too many wrong PINs: change the PIN with the password instead"))
	}
	ok, _, err := a.Hasher.Verify(ctx, hash, plain)
	if err != nil {
		return a.giveBack(ctx, err, func(tx store.Tx) error { return tx.ReleasePINAttempt(ctx, subj.TenantID, subj.AccountID) })
	}
	if ok {
		return nil // the new PIN, saved next, clears the count
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, count, "WRONG_PIN", c.IP, c.UserAgent, a.Clock.Now()))
	})
	if err != nil {
		return err
	}
	return wrong
}
