package account

import (
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

// The lifecycle moves an administrator (or the inactivity sweep) makes.
// Each reports whether it changed the account: a move to where the account
// already is changes nothing, writes nothing and emits no event, so a
// retried request is harmless.

// Reasons of the lifecycle's refusals, stable for clients.
const (
	ReasonAccountPending  = "ACCOUNT_PENDING"
	ReasonAccountDisabled = "ACCOUNT_DISABLED"
)

// Created gives a new account the time of its creation, at which an
// account created ACTIVE (with a temporary password, by an import) is
// activated too. It is called inside the transaction that stores the
// account, so the row and its events carry the time of the change.
func (a *Account) Created(at time.Time) {
	a.CreatedAt, a.UpdatedAt, a.ActivatedAt = at, at, nil
	if a.Status == StatusActive {
		a.ActivatedAt = &at
	}
}

// LockByAdmin locks a until an administrator unlocks it. A lock for
// another reason becomes an admin lock (it then no longer ends by itself).
func (a *Account) LockByAdmin() (changed bool, err error) {
	switch a.Status {
	case StatusPending:
		return false, errs.FailedPrecondition(ReasonAccountPending, "the account is not activated yet; disable it to keep it from being activated")
	case StatusDisabled:
		return false, errs.FailedPrecondition(ReasonAccountDisabled, "the account is disabled")
	case StatusLocked:
		if a.LockReason == LockAdmin {
			return false, nil
		}
	}
	a.Status, a.LockReason, a.LockedUntil = StatusLocked, LockAdmin, nil
	return true, nil
}

// Unlock ends a lock of any reason and returns the reason it had. An
// inactivity lock ends with a fresh start at now, so the next sweep does
// not lock the account again at once. A disabled account is reactivated,
// not unlocked.
func (a *Account) Unlock(now time.Time) (was LockReason, changed bool, err error) {
	switch a.Status {
	case StatusDisabled:
		return LockNone, false, errs.FailedPrecondition(ReasonAccountDisabled, "the account is disabled: reactivate it")
	case StatusLocked:
	default:
		return LockNone, false, nil
	}
	was = a.LockReason
	a.Status, a.LockReason, a.LockedUntil = StatusActive, LockNone, nil
	if was == LockInactivity {
		a.FreshStartAt = &now
	}
	return was, true, nil
}

// Disable switches a off until an administrator reactivates it, whatever
// its state.
func (a *Account) Disable() (changed bool) {
	if a.Status == StatusDisabled {
		return false
	}
	a.Status, a.LockReason, a.LockedUntil = StatusDisabled, LockNone, nil
	return true
}

// Reactivate brings a disabled or locked account back: ACTIVE (PENDING
// when it was never activated), with a fresh start for the inactivity lock.
// wasLocked is the reason of the lock it ended (LockNone when the account
// was disabled).
func (a *Account) Reactivate(now time.Time) (wasLocked LockReason, changed bool, err error) {
	switch a.Status {
	case StatusLocked:
		was, changed, err := a.Unlock(now)
		a.FreshStartAt = &now
		return was, changed, err
	case StatusDisabled:
		a.Status = StatusActive
		if a.ActivatedAt == nil {
			a.Status = StatusPending
		}
		a.FreshStartAt = &now
		return LockNone, true, nil
	case StatusPending:
		return LockNone, false, errs.FailedPrecondition(ReasonAccountPending, "the account is not activated yet")
	}
	return LockNone, false, nil
}
