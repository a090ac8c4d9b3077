package app

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	credevents "github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// replacePassword checks plain against the tenant's rules and the
// account's history and makes it the account's password. Every other
// session of the account is revoked (keep names the caller's own, or "").
// field names the password in errors.
func (a *App) replacePassword(ctx context.Context, subj *credential.Subject, plain, field string, temporary bool,
	cause eventsv1.PasswordChanged_Cause_Value, keep string) error {
	if err := a.Checker.Check(plain, subj.Policy.Rules, subj.Personal(), field); err != nil {
		return err
	}
	var current *credential.Password
	var history []string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		current, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID)
		if errs.Is(err, errs.KindNotFound) {
			current, err = nil, nil
		}
		if err != nil {
			return err
		}
		if n := subj.Policy.HistoryCount; n > 0 {
			history, err = tx.History(ctx, subj.TenantID, subj.AccountID, n)
		}
		return err
	})
	if err != nil {
		return err
	}
	if n := subj.Policy.HistoryCount; n > 0 && !temporary {
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
			return err
		}
		if reused {
			return errs.Invalid(errs.Field(field, "PASSWORD_REUSED", "must differ from the last "+strconv.Itoa(n)+" passwords"))
		}
	}
	hash, err := a.Hasher.Hash(ctx, plain)
	if err != nil {
		return err
	}
	now := a.Clock.Now()
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if current != nil && !current.Temporary {
			if err := tx.AddHistory(ctx, subj.TenantID, subj.AccountID, current.Hash, current.ChangedAt, max(subj.Policy.HistoryCount, 1)); err != nil {
				return err
			}
		}
		if err := tx.SavePassword(ctx, &credential.Password{TenantID: subj.TenantID, AccountID: subj.AccountID,
			Hash: hash, ChangedAt: now, Temporary: temporary}); err != nil {
			return err
		}
		if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		if current != nil && keep == "" {
			// Someone else set the password (an admin, a reset): devices
			// must log in with it again before a PIN unlocks them.
			if err := tx.RevokeDevices(ctx, subj.TenantID, subj.AccountID, now); err != nil {
				return err
			}
		}
		if cause == eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED {
			return nil // set by an admin: that event is the caller's
		}
		var expires *time.Time
		if d := subj.Policy.MaxAgeDays; d > 0 {
			e := now.Add(time.Duration(d) * 24 * time.Hour)
			expires = &e
		}
		return tx.Emit(ctx, credevents.PasswordChanged(subj.TenantID, subj.AccountID, cause, expires, now))
	})
	if err != nil {
		return err
	}
	if current == nil {
		return nil // a first password: no session to end
	}
	return a.revokeAll(ctx, subj.TenantID, subj.AccountID, keep, "PASSWORD_CHANGED", nil)
}

// SetTemporaryRequest is the account service storing the temporary
// password of an account it is about to create.
type SetTemporaryRequest struct {
	TenantID, AccountID string
	Password            string
	Personal            password.Personal
	// Rules are given when the tenant is being created with the account;
	// nil: the tenant's own.
	Rules *password.Rules
}

// SetTemporaryPassword stores a temporary password, to be replaced at the
// first log-in. Violations are reported on "temporaryPassword".
func (a *App) SetTemporaryPassword(ctx context.Context, req SetTemporaryRequest) error {
	if err := errs.JoinInvalid(checkID("tenantId", req.TenantID), checkID("accountId", req.AccountID)); err != nil {
		return err
	}
	subj := &credential.Subject{TenantID: req.TenantID, AccountID: req.AccountID, Username: req.Personal.Username,
		Email: req.Personal.Email, DisplayName: req.Personal.DisplayName}
	if req.Rules != nil {
		subj.Policy.Rules = *req.Rules
	} else {
		p, err := a.Accounts.Policy(ctx, req.TenantID)
		if err != nil {
			return err
		}
		subj.Policy = p
	}
	return a.replacePassword(ctx, subj, req.Password, "temporaryPassword", true, eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED, "")
}

// ChangePassword is a signed-in user replacing their password: the
// current one, then a new one that meets the policy and the history. The
// caller's own session stays; every other one is revoked.
func (a *App) ChangePassword(ctx context.Context, p *authn.Principal, current, next string, c Client) error {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return err
	}
	var v errs.Violations
	if current == "" {
		v.Add("currentPassword", "REQUIRED", "required")
	}
	if next == "" {
		v.Add("newPassword", "REQUIRED", "required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	ok, err := a.checkPassword(ctx, subj, current, c)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Invalid(errs.Field("currentPassword", "PASSWORD_WRONG", "the current password is wrong"))
	}
	return a.replacePassword(ctx, subj, next, "newPassword", false, eventsv1.PasswordChanged_Cause_SELF_SERVICE, p.SessionID)
}

// AdminSetPassword is an administrator setting a user's password, either
// temporary (to be changed at the next log-in) or final. The user's
// sessions are revoked.
func (a *App) AdminSetPassword(ctx context.Context, p *authn.Principal, accountID, plain string, temporary bool) error {
	tenantID, err := a.adminTenant(ctx, p)
	if err != nil {
		return err
	}
	if err := checkID("id", accountID); err != nil {
		return err
	}
	if plain == "" {
		return errs.Invalid(errs.Field("password", "REQUIRED", "required"))
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	if err := a.replacePassword(ctx, subj, plain, "password", temporary, eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED, ""); err != nil {
		return err
	}
	now := a.Clock.Now()
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.Emit(ctx, credevents.PasswordSetByAdmin(tenantID, accountID, temporary, events.ActorOf(p, ""), now))
	})
}

// VerifyPassword checks an account's password for another service (it
// counts towards the lockout like a log-in).
func (a *App) VerifyPassword(ctx context.Context, tenantID, accountID, plain string) (bool, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return false, err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return false, err
	}
	return a.checkPassword(ctx, subj, plain, Client{})
}

// SetPasswordAfterReset is the recovery service setting the password a
// user chose through an activation or reset link.
func (a *App) SetPasswordAfterReset(ctx context.Context, tenantID, accountID, plain string, activation bool) error {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	cause := eventsv1.PasswordChanged_Cause_PASSWORD_RESET
	if activation {
		cause = eventsv1.PasswordChanged_Cause_ACTIVATION
	}
	return a.replacePassword(ctx, subj, plain, "newPassword", false, cause, "")
}

// signedIn returns the account of a signed-in caller.
func (a *App) signedIn(ctx context.Context, p *authn.Principal) (*credential.Subject, error) {
	if p == nil {
		return nil, errs.Unauthenticated("CREDENTIALS_MISSING", "this call needs an access token (Authorization: Bearer …)")
	}
	if p.Kind != authn.KindAccount {
		return nil, errs.PermissionDenied("ACCOUNT_ONLY", "this call is for signed-in accounts")
	}
	return a.Accounts.Lookup(ctx, p.TenantID, p.AccountID)
}

// adminTenant is the tenant an administrator acts in, by the rule of
// authn.AdminTenant: their own, or the one an operator names.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (string, error) {
	scope, err := authn.AdminTenant(p)
	if err != nil || scope.TenantCode == "" {
		return scope.TenantID, err
	}
	return a.Accounts.TenantID(ctx, scope.TenantCode)
}

// checkID is the shared id check, ids.Check.
func checkID(field, id string) error { return ids.Check(field, id) }
