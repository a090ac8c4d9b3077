package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

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
	var pinHash string
	dev, err := a.Store.DeviceByKey(ctx, token.HashSecret(req.DeviceKey))
	if err == nil {
		pinHash, err = a.Store.GetPIN(ctx, dev.TenantID, dev.AccountID)
	}
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
	if !ok {
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.FailPIN(ctx, dev.TenantID, dev.ID, a.Clock.Now())
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
		next, err = a.startSession(ctx, tx, subj, k, now)
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
