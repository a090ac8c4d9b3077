package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// This file holds what every use case that checks a password shares (log-in,
// change password, set PIN, re-authenticate, another service's check): the
// tenant's failed-attempt count and the lock at its limit.

// checkPassword verifies a password against the account's, counting the
// attempt first so parallel guesses cannot exceed the tenant's limit; the
// attempt that reaches the limit locks the account. A correct password
// resets the count and upgrades an outdated hash. It returns the password
// row it read (nil when the password is wrong), so callers need not read
// it again.
func (a *App) checkPassword(ctx context.Context, subj *credential.Subject, plain string, c Client) (*credential.Password, bool, error) {
	var pw *credential.Password
	var count int
	reserved := true
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if pw, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		limit := max(subj.Policy.MaxFailedAttempts, 1)
		if count, reserved, err = tx.ReserveAttempt(ctx, subj.TenantID, subj.AccountID, limit); err != nil || reserved {
			return err
		}
		if subj.Status == credential.StatusActive {
			// The count is full but the account is active: its lock
			// expired or an admin lifted it. Counting starts afresh.
			if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
				return err
			}
			count, reserved, err = tx.ReserveAttempt(ctx, subj.TenantID, subj.AccountID, limit)
		}
		return err
	})
	if errs.Is(err, errs.KindNotFound) { // no password yet (not activated)
		_ = a.Hasher.DummyVerify(ctx, plain)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	ok, rehash, err := a.Hasher.Verify(ctx, pw.Hash, plain)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		if !reserved {
			return nil, false, nil // already locked: nothing more to count
		}
		return nil, false, a.failed(ctx, subj, count, "WRONG_PASSWORD", c)
	}
	// The hash is legacy or has old parameters: keep the same password
	// under the current ones. Hashed before the transaction, which must
	// not wait on the hash pool.
	upgraded := ""
	if rehash {
		if upgraded, err = a.Hasher.Hash(ctx, plain); err != nil {
			return nil, false, err
		}
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		if upgraded == "" {
			return nil
		}
		up := *pw
		up.Hash = upgraded
		return tx.SavePassword(ctx, &up)
	})
	if err != nil {
		return nil, false, err
	}
	if upgraded != "" {
		pw.Hash = upgraded
	}
	return pw, true, nil
}

// failed records a failure already counted (count is the new count): its
// LoginFailed event, and at the tenant's limit the lock. A log-in counts
// the attempt before checking the password, so that parallel guesses
// cannot pass the limit; the event follows once the password proved wrong.
func (a *App) failed(ctx context.Context, subj *credential.Subject, count int, reason string, c Client) error {
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
	return a.revokeAll(ctx, subj.TenantID, subj.AccountID, "", "ACCOUNT_LOCKED", nil)
}
