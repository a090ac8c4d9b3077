package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// adminChange runs an administrator's change of account id: the caller
// must administer the account's tenant (an account of another tenant is
// NotFound) and may change an operator's account only as an operator
// (authn.MayActOn), reason is checked, and change runs as in changeAccount. It
// returns the tenant too, for changes that follow its policy.
func (a *App) adminChange(ctx context.Context, p *authn.Principal, id, reason string,
	change func(store.Tx, *account.Tenant, *account.Account) ([]store.Event, error)) (*account.Tenant, *account.Account, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if err := errs.JoinInvalid(ids.Check("id", id), account.ValidateReason(reason)); err != nil {
		return nil, nil, err
	}
	acct, err := a.changeAccount(ctx, t.ID, id, func(tx store.Tx, acct *account.Account) ([]store.Event, error) {
		if err := authn.MayActOn(p, acct.RoleNames()); err != nil {
			return nil, err
		}
		return change(tx, t, acct)
	})
	return t, acct, err
}

// refuseSelf stops an administrator from doing to their own account what
// would lock them out (locking, disabling).
func refuseSelf(p *authn.Principal, id, reason, message string) error {
	if p != nil && p.Kind == authn.KindAccount && p.AccountID == id {
		return errs.FailedPrecondition(reason, message)
	}
	return nil
}

// revokeSessions ends every session of an account that may no longer be
// used, at once. It runs after the commit, also when the account already
// was in that state. A failure does not fail the change: the change's
// event (AccountUpdated with "roles", AccountLocked, AccountDisabled),
// written in its transaction, reaches the credential service through the
// outbox and ends the same sessions there, only later; so it is logged.
func (a *App) revokeSessions(ctx context.Context, acct *account.Account, why string) {
	if a.credentials == nil {
		return
	}
	if err := a.credentials.RevokeAllSessions(ctx, acct.TenantID, acct.ID, why); err != nil {
		a.opts.Logger.WarnContext(ctx, "sessions not revoked at once; the change's event will end them",
			"tenant_id", acct.TenantID, "account_id", acct.ID, "reason", why, "err", err)
	}
}

// clearFailedAttempts restarts the failed log-in count of an account an
// administrator let back in, so its next mistyped password does not lock
// it again at once.
func (a *App) clearFailedAttempts(ctx context.Context, acct *account.Account) error {
	if a.credentials == nil {
		return nil
	}
	if err := a.credentials.ClearFailedAttempts(ctx, acct.TenantID, acct.ID); err != nil {
		return errs.Unavailable("FAILED_ATTEMPTS_NOT_CLEARED",
			"the change is saved, but the failed log-in count could not be cleared yet: repeat the call", err)
	}
	return nil
}
