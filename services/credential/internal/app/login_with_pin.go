package app

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// PINLoginRequest unlocks a device with its key and the PIN.
type PINLoginRequest struct {
	DeviceKey string
	PIN       string
	Client    Client
}

// maxDeviceKeyLen caps the device key a PIN log-in sends (keys Latchkey
// gives out are 43 characters).
const maxDeviceKeyLen = 128

func errDeviceOrPIN() error {
	return errs.Unauthenticated("DEVICE_OR_PIN_INVALID", "the device key or the PIN is wrong: log in with the password")
}

// LoginWithPIN gives tokens to a device that logged in with the password
// before (it holds a device key) and now gives the PIN. Each attempt is
// counted on the device before the PIN is checked, so parallel guesses
// with a stolen key get no more than credential.MaxPINFailures checks;
// the last wrong one revokes the key: the password is needed again. A
// locked or disabled account's PIN is not checked: the answer is a wrong
// PIN's, and LoginFailed says why.
func (a *App) LoginWithPIN(ctx context.Context, req PINLoginRequest) (res *LoginResult, err error) {
	ctx, counted := a.Metrics.startLogin(ctx, loginByPIN)
	defer func() { counted(res, err) }()
	var v errs.Violations
	switch {
	case req.DeviceKey == "":
		v.Add("deviceKey", "REQUIRED", "required")
	case len(req.DeviceKey) > maxDeviceKeyLen:
		v.Add("deviceKey", "TOO_LONG", fmt.Sprintf("at most %d bytes", maxDeviceKeyLen))
	}
	switch {
	case req.PIN == "":
		v.Add("pin", "REQUIRED", "required")
	case len(req.PIN) > maxPINLen:
		v.Add("pin", "TOO_LONG", fmt.Sprintf("at most %d bytes", maxPINLen))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	leave, err := a.Hasher.Enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var pinHash string
	dev, err := a.Store.DeviceByKey(ctx, token.HashSecret(req.DeviceKey))
	if err == nil {
		pinHash, err = a.Store.GetPIN(ctx, dev.TenantID, dev.AccountID)
	}
	if errs.Is(err, errs.KindNotFound) {
		return nil, a.wrongPIN(ctx, req.PIN)
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
	if reason := inactiveReason(subj); reason != "" {
		if err := a.refuseInactive(ctx, subj, req.PIN, reason, req.Client); err != nil {
			return nil, err
		}
		return nil, errDeviceOrPIN()
	}
	var count int
	var reserved bool
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		count, reserved, err = tx.ReserveDeviceAttempt(ctx, dev.TenantID, dev.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !reserved { // the device has had its wrong PINs, or was revoked meanwhile
		return nil, a.wrongPIN(ctx, req.PIN)
	}
	ok, _, err := a.Hasher.Verify(ctx, pinHash, req.PIN)
	if err != nil {
		return nil, a.giveBack(ctx, err, func(tx store.Tx) error { return tx.ReleaseDeviceAttempt(ctx, dev.TenantID, dev.ID) })
	}
	if !ok {
		noteRefusal(ctx, "WRONG_PIN")
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			now := a.Clock.Now()
			if count >= credential.MaxPINFailures {
				if err := tx.RevokeDevice(ctx, dev.TenantID, dev.ID, now); err != nil {
					return err
				}
			}
			return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, count, "WRONG_PIN", req.Client.IP, req.Client.UserAgent, now))
		})
		if err != nil {
			return nil, err
		}
		return nil, errDeviceOrPIN()
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	pw, err := a.Store.GetPassword(ctx, subj.TenantID, subj.AccountID)
	if err != nil {
		return nil, err
	}
	facts, err := a.facts(ctx, subj, pw)
	if err != nil {
		return nil, err
	}
	steps := facts.Steps(nil)
	var next *nextOrSession
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := tx.UsedDevice(ctx, dev.TenantID, dev.ID, now); err != nil || len(steps) > 0 {
			return err
		}
		k := &credential.LoginTicket{TenantID: subj.TenantID, AccountID: subj.AccountID, AMR: []string{"pin"}, AuthTime: now,
			DeviceName: dev.Name, IP: req.Client.IP, UserAgent: req.Client.UserAgent}
		next, err = a.startSession(ctx, tx, subj, k, dev.ID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(steps) > 0 {
		// A PIN does not pass steps (an expired password, new terms):
		// those need the full log-in.
		return nil, errs.FailedPrecondition("PASSWORD_LOGIN_REQUIRED", "log in with the password: "+string(steps[0])+" is due")
	}
	r, err := a.result(ctx, subj, next, facts)
	if err != nil {
		return nil, err
	}
	r.Tokens.DeviceKey = req.DeviceKey
	return r, nil
}

// wrongPIN is the answer to a PIN log-in whose device key is unknown or
// spent, after the work of a check (the dummy hash), so it looks and takes
// like a wrong PIN.
func (a *App) wrongPIN(ctx context.Context, pin string) error {
	if err := a.Hasher.DummyVerify(ctx, pin); err != nil {
		return err
	}
	return errDeviceOrPIN()
}
