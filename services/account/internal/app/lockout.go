package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// RecordLockout locks an account for a reason another service decided
// (the credential service, after too many failed log-ins). until is when
// the lock ends by itself; nil keeps it until an admin unlocks. A disabled
// account stays disabled, and an account already locked keeps its lock.
func (a *App) RecordLockout(ctx context.Context, tenantID, accountID string, reason account.LockReason, until *time.Time) (*account.Account, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return nil, err
	}
	if reason != account.LockFailedAttempts && reason != account.LockInactivity {
		return nil, errs.Invalid(errs.Field("reason", account.ReasonInvalidFormat, "FAILED_ATTEMPTS or INACTIVITY"))
	}
	return a.changeAccount(ctx, tenantID, accountID, func(tx store.Tx, acct *account.Account) ([]store.Event, error) {
		if acct.Status == account.StatusDisabled || (acct.Status == account.StatusLocked && !acct.LockExpired(a.clock.Now())) {
			return nil, nil
		}
		acct.Status, acct.LockReason, acct.LockedUntil = account.StatusLocked, reason, until
		return []store.Event{accountevents.AccountLocked(acct, events.ActorOf(nil, ""))}, nil
	})
}

// RecordTermsAcceptance records that the user accepted version, which must
// be the tenant's current one (the ACCEPT_TERMS step of a log-in).
func (a *App) RecordTermsAcceptance(ctx context.Context, tenantID, accountID, version string) (*account.Account, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return nil, err
	}
	return a.recordTermsAcceptance(ctx, tenantID, accountID, version, "acceptTermsVersion", events.ActorOf(nil, ""))
}

// recordTermsAcceptance records the acceptance of version; field names the
// version in the caller's request.
func (a *App) recordTermsAcceptance(ctx context.Context, tenantID, accountID, version, field string, actor *eventsv1.Actor) (*account.Account, error) {
	t, err := a.store.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if version == "" || version != t.TermsVersion {
		return nil, errs.Invalid(errs.Field(field, "TERMS_VERSION_NOT_CURRENT",
			"accept the tenant's current terms version: "+t.TermsVersion))
	}
	return a.changeAccount(ctx, tenantID, accountID, func(tx store.Tx, acct *account.Account) ([]store.Event, error) {
		if acct.AcceptedTermsVersion == version {
			return nil, nil
		}
		acct.AcceptedTermsVersion = version
		return []store.Event{accountevents.TermsAccepted(acct, actor)}, nil
	})
}

// changeAccount loads an account in a transaction, lets change alter it
// and name the events, and saves it with them. A change that returns no
// events changed nothing, and nothing is written.
func (a *App) changeAccount(ctx context.Context, tenantID, accountID string, change func(store.Tx, *account.Account) ([]store.Event, error)) (*account.Account, error) {
	var out *account.Account
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		acct, err := tx.GetAccount(ctx, tenantID, accountID)
		if err != nil {
			return err
		}
		// The change's events carry the time of the change.
		was := acct.UpdatedAt
		acct.UpdatedAt = a.clock.Now()
		evs, err := change(tx, acct)
		if err != nil {
			return err
		}
		out = acct
		if len(evs) == 0 {
			acct.UpdatedAt = was
			return nil
		}
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			return err
		}
		for _, ev := range evs {
			if err := tx.Emit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// releaseExpiredLock turns an account whose timed lock has run out back to
// active, with its event, and returns it as it now is.
func (a *App) releaseExpiredLock(ctx context.Context, acct *account.Account) (*account.Account, error) {
	if !acct.LockExpired(a.clock.Now()) {
		return acct, nil
	}
	return a.changeAccount(ctx, acct.TenantID, acct.ID, func(tx store.Tx, cur *account.Account) ([]store.Event, error) {
		if !cur.LockExpired(a.clock.Now()) {
			return nil, nil
		}
		was := cur.LockReason
		cur.Status, cur.LockReason, cur.LockedUntil = account.StatusActive, account.LockNone, nil
		return []store.Event{accountevents.AccountUnlocked(cur, was, events.ActorOf(nil, "lock expired"))}, nil
	})
}
