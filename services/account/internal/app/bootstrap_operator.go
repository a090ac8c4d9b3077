package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// OperatorAccount names the platform's first operator, made on first
// start from configuration.
type OperatorAccount struct {
	TenantCode string // the platform's own tenant, e.g. "platform"
	Username   string
	Email      string
}

// BootstrapOperator makes sure the platform's own tenant and its first
// operator account exist. On the start that creates them it returns the
// operator's temporary password (to be changed at the first log-in), so
// the caller can hand it over; later starts return "" and change nothing.
// The account holds OPERATOR (platform calls, and acting in any tenant
// through the Latchkey-Tenant header) and ADMIN of the platform tenant.
func (a *App) BootstrapOperator(ctx context.Context, op OperatorAccount) (temporaryPassword string, err error) {
	t, err := a.store.GetTenantByCode(ctx, op.TenantCode)
	switch {
	case err == nil:
		if _, err := a.store.FindAccountByLogin(ctx, t.ID, op.Username); err == nil {
			return "", nil
		} else if !errs.Is(err, errs.KindNotFound) {
			return "", err
		}
	case errs.Is(err, errs.KindNotFound):
		t = &account.Tenant{ID: ids.New(), Code: op.TenantCode, Name: "Platform operators", Policy: account.DefaultPolicy()}
		if err := account.ValidateTenant(t); err != nil {
			return "", err
		}
	default:
		return "", err
	}
	acct := &account.Account{ID: ids.New(), TenantID: t.ID, Username: op.Username, Email: op.Email, DisplayName: "Operator",
		Roles: []account.Role{account.RoleOperator, account.RoleAdmin}, Status: account.StatusActive, Locale: t.Policy.Locale}
	// OPERATOR is refused for accounts created through the API; check the
	// rest with it set aside.
	check := *acct
	check.Roles = []account.Role{account.RoleAdmin}
	if err := account.ValidateNewAccount(&check, t.Policy, "operator"); err != nil {
		return "", err
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	temporaryPassword = base64.RawURLEncoding.EncodeToString(b) + "-Op1"
	if err := a.setTemporaryPassword(ctx, acct, NewAccount{Activation: account.ActivationTemporaryPassword, TemporaryPassword: temporaryPassword}, &t.Policy.Password, "operator"); err != nil {
		return "", err
	}
	actor := events.ActorOf(nil, "bootstrap")
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.clock.Now()
		if _, err := tx.GetTenant(ctx, t.ID); errs.Is(err, errs.KindNotFound) {
			t.CreatedAt, t.UpdatedAt = now, now
			if err := tx.CreateTenant(ctx, t); err != nil {
				return err
			}
			if err := tx.Emit(ctx, accountevents.TenantCreated(t, actor)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		acct.Created(now)
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		return tx.Emit(ctx, accountevents.AccountCreated(acct, account.ActivationTemporaryPassword, actor))
	})
	if err != nil {
		return "", err
	}
	return temporaryPassword, nil
}
