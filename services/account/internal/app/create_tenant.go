package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/idempotency"
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
	// Idempotency is the call's idempotency key; zero: none.
	Idempotency idempotency.Request
}

// createdTenant is CreateTenant's answer, as kept for a retry.
type createdTenant struct {
	Tenant     *account.Tenant
	FirstAdmin *account.Account
}

// CreateTenant creates a tenant and, when asked, its first administrator,
// in one transaction: a tenant never exists half made. A call with an
// idempotency key the caller used before for the same request answers
// what that call created, and creates nothing.
func (a *App) CreateTenant(ctx context.Context, p *authn.Principal, cmd CreateTenant) (*account.Tenant, *account.Account, error) {
	if err := authn.RequireOperator(p); err != nil {
		return nil, nil, err
	}
	scope := idempotency.ScopeOf(p.TenantID, p)
	var first createdTenant
	if replayed, err := a.replayed(ctx, a.store, scope, cmd.Idempotency, &first); replayed || err != nil {
		return first.Tenant, first.FirstAdmin, err
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
	replayed, err := a.createOnce(ctx, scope, cmd.Idempotency, func(tx store.Tx, now time.Time) error {
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
	}, &createdTenant{Tenant: t, FirstAdmin: admin}, &first)
	switch {
	case err != nil:
		return nil, nil, err
	case replayed:
		return first.Tenant, first.FirstAdmin, nil
	}
	return t, admin, nil
}
