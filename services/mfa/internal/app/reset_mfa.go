package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/mfa/internal/events"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// ResetMfa is an administrator's removal of every factor and recovery
// code of account id (a lost phone): the caller administers the
// account's tenant (an account of another tenant is NotFound) and may act
// on it (authn.MayActOn). MfaReset is published when something was
// removed.
func (a *App) ResetMfa(ctx context.Context, p *authn.Principal, id string) error {
	tenantID, err := a.adminTenant(ctx, p)
	if err != nil {
		return err
	}
	if err := ids.Check("id", id); err != nil {
		return err
	}
	acct, err := a.dir.Account(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := authn.MayActOn(p, acct.Roles); err != nil {
		return err
	}
	now := a.clock.Now()
	var gone *factor.Factor
	err = a.store.InTx(ctx, func(tx store.Tx) (err error) {
		if gone, err = tx.DeleteFactor(ctx, tenantID, id); err != nil {
			return err
		}
		n, err := tx.DeleteRecoveryCodes(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if gone == nil && n == 0 {
			return nil
		}
		return tx.Emit(ctx, events.MfaReset(tenantID, id, events.Actor(p), now))
	})
	if err != nil {
		return err
	}
	if gone != nil {
		a.noteSecurityChange(ctx, tenantID, id)
	}
	return nil
}

// adminTenant is the tenant an administrator acts in, by the rule of
// authn.AdminTenant: their own, or the one an operator names.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (string, error) {
	scope, err := authn.AdminTenant(p)
	if err != nil || scope.TenantCode == "" {
		return scope.TenantID, err
	}
	t, err := a.dir.TenantByCode(ctx, scope.TenantCode)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}
