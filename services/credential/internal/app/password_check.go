package app

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// This file holds what every use case that checks a password or a PIN
// shares (log-in, change password, set PIN, re-authenticate, another
// service's check): the caps on what is hashed, the tenant's failed-attempt
// count and the lock at its limit, and the refusal of locked and disabled
// accounts without a check.

// Caps on the secrets a request sends, checked before anything is hashed,
// so that no request makes the service hash megabytes.
const (
	maxPasswordLen = 1024 // bytes
	maxPINLen      = 32   // bytes; a PIN has 4–8 digits (or the tenant's length)
)

// capped refuses value, the request's field, when it is longer than max
// bytes.
func capped(field, value string, max int) error {
	if len(value) > max {
		return errs.Invalid(errs.Field(field, "TOO_LONG", fmt.Sprintf("at most %d bytes", max)))
	}
	return nil
}

// inactiveReason is the LoginFailed reason of an account that may not sign
// in whatever secret it gives (locked, disabled), "" for any other.
func inactiveReason(s *credential.Subject) string {
	switch s.Status {
	case credential.StatusLocked:
		return "ACCOUNT_LOCKED"
	case credential.StatusDisabled:
		return "ACCOUNT_DISABLED"
	}
	return ""
}

// refuseInactive answers an attempt on a locked or disabled account,
// whose secret plain is not checked: a lock that still checked passwords
// would let guessing go on for as long as it lasts, and its answer to the
// right one would tell that the guess was right. The dummy hash does the
// work a check does, so the caller's answer (the one for a wrong secret)
// takes as long too; LoginFailed with reason goes to the tenant's audit.
// The user learns of the lock from the e-mail notice sent when it happened.
func (a *App) refuseInactive(ctx context.Context, subj *credential.Subject, plain, reason string, c Client) error {
	noteRefusal(ctx, reason)
	if err := a.Hasher.DummyVerify(ctx, plain); err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		n, err := tx.FailedCount(ctx, subj.TenantID, subj.AccountID)
		if err != nil {
			return err
		}
		return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, n, reason, c.IP, c.UserAgent, a.Clock.Now()))
	})
}

// checkPassword verifies a password, the request's field, against the
// account's, counting the attempt first so parallel guesses cannot exceed
// the tenant's limit; the attempt that reaches the limit locks the
// account. A locked or disabled account's password is not checked at all
// (refuseInactive): it is wrong for the caller. A correct password resets
// the count and upgrades an outdated hash. It returns the password row it
// read (nil when the password is wrong), so callers need not read it again.
func (a *App) checkPassword(ctx context.Context, subj *credential.Subject, field, plain string, c Client) (*credential.Password, bool, error) {
	pw, ok, accept, err := a.verifyPassword(ctx, subj, field, plain, c)
	if err != nil || !ok {
		return pw, ok, err
	}
	if err := a.Store.InTx(ctx, accept); err != nil {
		return nil, false, err
	}
	return pw, true, nil
}

// verifyPassword is checkPassword but for what a right password changes
// (the count reset, an upgraded hash), which it returns as accept, to be
// run in a transaction of the caller's: a log-in runs it in the one that
// starts the session, one transaction fewer. The caller must run it
// whichever way it goes on, so that a right password is never left
// counted as a failure.
func (a *App) verifyPassword(ctx context.Context, subj *credential.Subject, field, plain string, c Client) (pw *credential.Password, ok bool, accept func(store.Tx) error, err error) {
	if err := capped(field, plain, maxPasswordLen); err != nil {
		return nil, false, nil, err
	}
	if reason := inactiveReason(subj); reason != "" {
		return nil, false, nil, a.refuseInactive(ctx, subj, plain, reason, c)
	}
	var count int
	var reserved bool
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if pw, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		count, reserved, err = a.reserveAttempt(ctx, tx, subj)
		return err
	})
	if errs.Is(err, errs.KindNotFound) { // no password yet (not activated)
		return nil, false, nil, a.Hasher.DummyVerify(ctx, plain)
	}
	if err != nil {
		return nil, false, nil, err
	}
	if !reserved {
		// The tenant's limit is reached and its lock lasts, also while
		// the account service has not recorded it yet (parallel guesses
		// that looked the account up before): nothing is checked.
		return nil, false, nil, a.refuseInactive(ctx, subj, plain, "ACCOUNT_LOCKED", c)
	}
	ok, rehash, err := a.Hasher.Verify(ctx, pw.Hash, plain)
	if err != nil {
		return nil, false, nil, a.giveBack(ctx, err, func(tx store.Tx) error { return tx.ReleaseAttempt(ctx, subj.TenantID, subj.AccountID) })
	}
	if !ok {
		return nil, false, nil, a.failed(ctx, subj, count, "WRONG_PASSWORD", c)
	}
	// The hash is legacy or has old parameters: keep the same password
	// under the current ones. Hashed before the transaction, which must
	// not wait on the hash pool.
	upgraded := ""
	if rehash {
		if upgraded, err = a.Hasher.Hash(ctx, plain); err != nil {
			return nil, false, nil, err
		}
	}
	stored := *pw
	accept = func(tx store.Tx) error {
		if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		if upgraded == "" {
			return nil
		}
		up := stored
		up.Hash = upgraded
		return tx.SavePassword(ctx, &up)
	}
	if upgraded != "" {
		pw.Hash = upgraded
	}
	return pw, true, accept, nil
}

// reserveAttempt counts, in tx, a failure-prone attempt of subj (a
// password, a code) before it is checked, against the tenant's limit
// and lock duration; ok=false when the limit is reached and its lock
// lasts.
func (a *App) reserveAttempt(ctx context.Context, tx store.Tx, subj *credential.Subject) (count int, ok bool, err error) {
	return tx.ReserveAttempt(ctx, subj.TenantID, subj.AccountID, max(subj.Policy.MaxFailedAttempts, 1), a.Clock.Now(),
		time.Duration(subj.Policy.LockoutMinutes)*time.Minute)
}

// giveBack undoes an attempt counted before its secret was checked when
// the check did not run because the hash pool was busy (err is
// Unavailable), so that load never counts as failures; release is the
// store's undo. It returns err, or release's own failure.
func (a *App) giveBack(ctx context.Context, err error, release func(tx store.Tx) error) error {
	if !errs.Is(err, errs.KindUnavailable) {
		return err
	}
	if rerr := a.Store.InTx(ctx, release); rerr != nil {
		return rerr
	}
	return err
}

// failed records a failure already counted (count is the new count): its
// LoginFailed event, and at the tenant's limit the lock. A log-in counts
// the attempt before checking the password, so that parallel guesses
// cannot pass the limit; the event follows once the password proved wrong.
func (a *App) failed(ctx context.Context, subj *credential.Subject, count int, reason string, c Client) error {
	noteRefusal(ctx, reason)
	var now time.Time
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		now = a.Clock.Now()
		return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, count, reason, c.IP, c.UserAgent, now))
	})
	if err != nil {
		return err
	}
	return a.lockAtLimit(ctx, subj, count, now)
}

// lockAtLimit has the account service lock an active account whose
// failure count reached the tenant's limit at now (until the tenant's
// lockout minutes have passed, or until an admin unlocks it), and revokes
// every session of the account.
func (a *App) lockAtLimit(ctx context.Context, subj *credential.Subject, count int, now time.Time) error {
	if count < subj.Policy.MaxFailedAttempts || subj.Status != credential.StatusActive {
		return nil
	}
	var until *time.Time
	if m := subj.Policy.LockoutMinutes; m > 0 {
		u := now.Add(time.Duration(m) * time.Minute)
		until = &u
	}
	if err := a.Accounts.RecordLockout(ctx, subj.TenantID, subj.AccountID, until); err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := a.endAccess(ctx, tx, subj.TenantID, subj.AccountID, "", "ACCOUNT_LOCKED", a.Clock.Now())
		return err
	})
}
