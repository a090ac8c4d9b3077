package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// CreateTenant is an operator's request for a new tenant.
type CreateTenant struct {
	Code string
	Name string
	// Policy is the full policy: the defaults with the caller's fields
	// applied.
	Policy account.Policy
	// FirstAdmin, when set, is created with the tenant, as an ADMIN.
	FirstAdmin *NewAccount
}

// CreateTenant creates a tenant and, when asked, its first administrator,
// in one transaction: a tenant never exists half made.
func (a *App) CreateTenant(ctx context.Context, p *authn.Principal, cmd CreateTenant) (*account.Tenant, *account.Account, error) {
	if err := authn.RequireOperator(p); err != nil {
		return nil, nil, err
	}
	t := &account.Tenant{ID: ids.New(), Code: cmd.Code, Name: cmd.Name, Policy: cmd.Policy}
	var admin *account.Account
	if cmd.FirstAdmin != nil {
		fa := *cmd.FirstAdmin
		fa.Roles = []account.Role{account.RoleAdmin}
		var err error
		if admin, err = newAccount(t, fa, "firstAdmin"); err != nil {
			return nil, nil, errs.JoinInvalid(account.ValidateTenant(t), err)
		}
	}
	if err := account.ValidateTenant(t); err != nil {
		return nil, nil, err
	}
	if admin != nil {
		if err := a.setTemporaryPassword(ctx, admin, *cmd.FirstAdmin, &t.Policy.Password, "firstAdmin"); err != nil {
			return nil, nil, err
		}
	}
	actor := events.ActorOf(p, "")
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.clock.Now()
		t.CreatedAt, t.UpdatedAt = now, now
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		if err := tx.Emit(ctx, accountevents.TenantCreated(t, actor)); err != nil {
			return err
		}
		if admin == nil {
			return nil
		}
		return a.createAccountInTx(ctx, tx, admin, cmd.FirstAdmin.Activation, actor, "firstAdmin", now)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, admin, nil
}
