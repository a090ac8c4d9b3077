package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// UpdateTenant is an operator's change to a tenant.
type UpdateTenant struct {
	Code string
	Name *string // nil: unchanged
	// Policy changes the policy in place; nil leaves it unchanged. It runs
	// on the current policy inside the transaction, so concurrent changes
	// of different fields do not undo each other.
	Policy func(*account.Policy)
}

// UpdateTenant renames a tenant or changes its policy (operators only).
func (a *App) UpdateTenant(ctx context.Context, p *authn.Principal, cmd UpdateTenant) (*account.Tenant, error) {
	if err := authn.RequireOperator(p); err != nil {
		return nil, err
	}
	return a.changeTenant(ctx, p, func(ctx context.Context, tx store.Tx) (*account.Tenant, error) {
		return tx.GetTenantByCode(ctx, cmd.Code)
	}, cmd.Name, cmd.Policy)
}

func (a *App) changeTenant(ctx context.Context, p *authn.Principal, load func(context.Context, store.Tx) (*account.Tenant, error),
	name *string, change func(*account.Policy)) (*account.Tenant, error) {
	var out *account.Tenant
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		t, err := load(ctx, tx)
		if err != nil {
			return err
		}
		before := *t
		if name != nil {
			t.Name = *name
		}
		if change != nil {
			change(&t.Policy)
		}
		if err := account.ValidateTenant(t); err != nil {
			return err
		}
		nameChanged, policyChanged := t.Name != before.Name, account.ChangedPolicyFields(before.Policy, t.Policy)
		if !nameChanged && len(policyChanged) == 0 {
			out = t
			return nil // nothing changed: no write, no event
		}
		t.UpdatedAt = a.clock.Now()
		if err := tx.UpdateTenant(ctx, t); err != nil {
			return err
		}
		actor := events.ActorOf(p, "")
		if nameChanged {
			if err := tx.Emit(ctx, accountevents.TenantUpdated(t, actor)); err != nil {
				return err
			}
		}
		if len(policyChanged) > 0 {
			if err := tx.Emit(ctx, accountevents.TenantPolicyChanged(t, policyChanged, actor)); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if out != nil {
		a.tenants.forget(out.ID)
	}
	return out, err
}
