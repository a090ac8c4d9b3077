package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	credevents "github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
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
	var current string
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		current, err = tx.GetPIN(ctx, subj.TenantID, subj.AccountID)
		if errs.Is(err, errs.KindNotFound) {
			return nil
		}
		return err
	})
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
		ok, err := a.checkPassword(ctx, subj, currentPassword, c)
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
	now := a.Clock.Now()
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SavePIN(ctx, subj.TenantID, subj.AccountID, hash, now); err != nil {
			return err
		}
		return tx.Emit(ctx, credevents.PinChanged(subj.TenantID, subj.AccountID, current == "", now))
	})
}

// PINLoginRequest unlocks a device with its key and the PIN.
type PINLoginRequest struct {
	DeviceKey string
	PIN       string
	Client    Client
}

// LoginWithPIN gives tokens to a device that logged in with the password
// before (it holds a device key) and now gives the PIN. Five wrong PINs in
// a row revoke the device key: the password is needed again.
func (a *App) LoginWithPIN(ctx context.Context, req PINLoginRequest) (*LoginResult, error) {
	var v errs.Violations
	if req.DeviceKey == "" {
		v.Add("deviceKey", "REQUIRED", "required")
	}
	if req.PIN == "" {
		v.Add("pin", "REQUIRED", "required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	bad := errs.Unauthenticated("DEVICE_OR_PIN_INVALID", "the device key or the PIN is wrong: log in with the password")
	var dev *credential.Device
	var pinHash string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if dev, err = tx.DeviceByKey(ctx, token.HashSecret(req.DeviceKey)); err != nil {
			return err
		}
		pinHash, err = tx.GetPIN(ctx, dev.TenantID, dev.AccountID)
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		_ = a.Hasher.DummyVerify(ctx, req.PIN)
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	subj, err := a.Accounts.Lookup(ctx, dev.TenantID, dev.AccountID)
	if err != nil {
		return nil, err
	}
	if !subj.Policy.PINEnabled {
		return nil, errPINDisabled()
	}
	ok, _, err := a.Hasher.Verify(ctx, pinHash, req.PIN)
	if err != nil {
		return nil, err
	}
	now := a.Clock.Now()
	if !ok {
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.FailPIN(ctx, dev.TenantID, dev.ID, now)
			return err
		})
		if err != nil {
			return nil, err
		}
		return nil, bad
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	if err := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.UsedDevice(ctx, dev.TenantID, dev.ID, now) }); err != nil {
		return nil, err
	}
	k := &credential.LoginTicket{TenantID: subj.TenantID, AccountID: subj.AccountID, AMR: []string{"pin"}, AuthTime: now,
		DeviceName: dev.Name, IP: req.Client.IP, UserAgent: req.Client.UserAgent}
	facts, err := a.facts(ctx, subj)
	if err != nil {
		return nil, err
	}
	if steps := facts.Steps(nil); len(steps) > 0 {
		// A PIN does not pass steps (an expired password, new terms):
		// those need the full log-in.
		return nil, errs.FailedPrecondition("PASSWORD_LOGIN_REQUIRED", "log in with the password: "+string(steps[0])+" is due")
	}
	tokens, err := a.startSession(ctx, subj, k)
	if err != nil {
		return nil, err
	}
	tokens.DeviceKey = req.DeviceKey
	return &LoginResult{Tokens: tokens, Prompts: facts.Prompts()}, nil
}

// newDevice hands out a device key for a password log-in that named its
// device, in a tenant that uses PINs.
func (a *App) newDevice(ctx context.Context, tx store.Tx, subj *credential.Subject, name string) (string, error) {
	plain, hash := token.NewSecret()
	now := a.Clock.Now()
	err := tx.AddDevice(ctx, &credential.Device{ID: ids.New(), TenantID: subj.TenantID, AccountID: subj.AccountID,
		KeyHash: hash, Name: name, CreatedAt: now, LastUsedAt: now})
	return plain, err
}
