package app

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// This file holds what every use case that sets a password shares (the
// user, an administrator, a reset, a log-in step, another service): the
// checks and the hash first, outside any transaction, then every write of
// the change and its events in the caller's one transaction.

// passwordChange is a new password checked against the tenant's rules and
// the account's history, and hashed: ready to be written.
type passwordChange struct {
	subj      *credential.Subject
	hash      string
	temporary bool
	// current is the password being replaced (nil: a first password).
	current *credential.Password
	// cause is the PasswordChanged event's; VALUE_UNSPECIFIED writes none
	// (an administrator's change has its own event, a temporary password
	// of a new account is part of its creation).
	cause eventsv1.PasswordChanged_Cause_Value
	// keep is the caller's own session, which stays; "" revokes them all.
	keep string
}

// preparePassword checks plain against the tenant's rules and the
// account's history and hashes it. field names the password in errors.
func (a *App) preparePassword(ctx context.Context, subj *credential.Subject, plain, field string, temporary bool,
	cause eventsv1.PasswordChanged_Cause_Value, keep string) (*passwordChange, error) {
	if err := capped(field, plain, maxPasswordLen); err != nil {
		return nil, err
	}
	if err := a.Checker.Check(plain, subj.Policy.Rules, subj.Personal(), field); err != nil {
		return nil, err
	}
	current, err := a.Store.GetPassword(ctx, subj.TenantID, subj.AccountID)
	if errs.Is(err, errs.KindNotFound) {
		current, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if n := subj.Policy.HistoryCount; n > 0 && !temporary {
		history, err := a.Store.History(ctx, subj.TenantID, subj.AccountID, n)
		if err != nil {
			return nil, err
		}
		// The current password counts as the newest of the last n.
		past := history
		if current != nil {
			past = append([]string{current.Hash}, history...)
		}
		if len(past) > n {
			past = past[:n]
		}
		reused, err := a.Hasher.MatchesAny(ctx, plain, past)
		if err != nil {
			return nil, err
		}
		if reused {
			return nil, errs.Invalid(errs.Field(field, "PASSWORD_REUSED", "must differ from the last "+strconv.Itoa(n)+" passwords"))
		}
	}
	hash, err := a.Hasher.Hash(ctx, plain)
	if err != nil {
		return nil, err
	}
	return &passwordChange{subj: subj, hash: hash, temporary: temporary, current: current, cause: cause, keep: keep}, nil
}

// applyPassword writes c in tx at now, the time of the change: the
// password, the replaced one into the history, the failure count
// cleared, and when a password is replaced the account's other sessions
// revoked, each with its event, and every PIN key of its devices (the
// caller's own too: a device proves the new password before its PIN
// unlocks it again).
func (a *App) applyPassword(ctx context.Context, tx store.Tx, c *passwordChange, now time.Time) error {
	subj := c.subj
	// A temporary password goes into the history too: an administrator
	// (or whoever read the message) knew it, so it must not come back.
	if c.current != nil {
		if err := tx.AddHistory(ctx, subj.TenantID, subj.AccountID, c.current.Hash, c.current.ChangedAt, max(subj.Policy.HistoryCount, 1)); err != nil {
			return err
		}
	}
	if err := tx.SavePassword(ctx, &credential.Password{TenantID: subj.TenantID, AccountID: subj.AccountID, Hash: c.hash,
		ChangedAt: now, Temporary: c.temporary}); err != nil {
		return err
	}
	if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
		return err
	}
	if c.cause != eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED {
		var expires *time.Time
		if d := subj.Policy.MaxAgeDays; d > 0 {
			e := now.Add(time.Duration(d) * 24 * time.Hour)
			expires = &e
		}
		if err := tx.Emit(ctx, events.PasswordChanged(subj.TenantID, subj.AccountID, c.cause, expires, now)); err != nil {
			return err
		}
	}
	if c.current == nil {
		return nil // a first password: no session or device to end
	}
	_, err := a.endAccess(ctx, tx, subj.TenantID, subj.AccountID, c.keep, "PASSWORD_CHANGED", now)
	return err
}

// replacePassword checks plain and makes it the account's password, the
// change and its events in one transaction.
func (a *App) replacePassword(ctx context.Context, subj *credential.Subject, plain, field string, temporary bool,
	cause eventsv1.PasswordChanged_Cause_Value, keep string) error {
	c, err := a.preparePassword(ctx, subj, plain, field, temporary, cause, keep)
	if err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		return a.applyPassword(ctx, tx, c, a.Clock.Now())
	})
}
