package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

// adminChanges are every administrator call of the account service that
// changes one account, each leaving it as it found it when run twice in
// the order given (lock before unlock, disable before reactivate).
var adminChanges = []struct {
	name string
	run  func(a *app.App, p *authn.Principal, id string) error
}{
	{"lock", func(a *app.App, p *authn.Principal, id string) error {
		_, err := a.LockAccount(context.Background(), p, id, "")
		return err
	}},
	{"unlock", func(a *app.App, p *authn.Principal, id string) error {
		_, err := a.UnlockAccount(context.Background(), p, id, "")
		return err
	}},
	{"disable", func(a *app.App, p *authn.Principal, id string) error {
		_, err := a.DisableAccount(context.Background(), p, id, "")
		return err
	}},
	{"reactivate", func(a *app.App, p *authn.Principal, id string) error {
		_, err := a.ReactivateAccount(context.Background(), p, id, "")
		return err
	}},
	{"change roles", func(a *app.App, p *authn.Principal, id string) error {
		roles := []account.Role{account.RoleOperator, account.RoleAdmin, account.RoleUser}
		_, err := a.UpdateAccount(context.Background(), p, app.UpdateAccount{ID: id, Roles: &roles})
		return err
	}},
	{"change e-mail", func(a *app.App, p *authn.Principal, id string) error {
		email := "ops-" + ids.New()[:8] + "@platform.example"
		_, err := a.UpdateAccount(context.Background(), p, app.UpdateAccount{ID: id, Email: &email})
		return err
	}},
	{"change display name", func(a *app.App, p *authn.Principal, id string) error {
		name := "Operator " + ids.New()[:8]
		_, err := a.UpdateAccount(context.Background(), p, app.UpdateAccount{ID: id, DisplayName: &name})
		return err
	}},
	{"change login id", func(a *app.App, p *authn.Principal, id string) error {
		_, err := a.ChangeUsername(context.Background(), p, id, "ops-"+ids.New()[:8])
		return err
	}},
}

// Administrators of the platform tenant, where operator accounts live,
// cannot change an operator's account; operators can.
func TestAdminChanges_OperatorAccountsOnlyByOperators(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newRecordingApp(t, 0)
	if _, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "root", Email: "root@platform.example"}); err != nil {
		t.Fatal(err)
	}
	platform, op, err := a.ResolveLogin(ctx, "platform", "root")
	if err != nil {
		t.Fatal(err)
	}
	admin := &authn.Principal{Kind: authn.KindAccount, TenantID: platform.ID, AccountID: ids.New(), Roles: []string{authn.RoleAdmin}}
	operators := map[string]*authn.Principal{
		"operator token":   {Kind: authn.KindOperatorToken, TenantCode: "platform"},
		"OPERATOR account": {Kind: authn.KindAccount, TenantID: platform.ID, AccountID: ids.New(), Roles: []string{authn.RoleOperator, authn.RoleAdmin}},
	}
	for _, c := range adminChanges {
		t.Run(c.name, func(t *testing.T) {
			before, err := a.LookupAccount(ctx, platform.ID, op.ID)
			if err != nil {
				t.Fatal(err)
			}
			err = c.run(a, admin, op.ID)
			var e *errs.Error
			if !errs.Is(err, errs.KindPermissionDenied) || !errors.As(err, &e) || e.Reason != authn.ReasonOperatorAccount {
				t.Fatalf("platform ADMIN: %v, want PermissionDenied %s", err, authn.ReasonOperatorAccount)
			}
			after, err := a.LookupAccount(ctx, platform.ID, op.ID)
			if err != nil || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("the refused call changed the account: %+v → %+v (%v)", before, after, err)
			}
			for name, p := range operators {
				if err := c.run(a, p, op.ID); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		})
	}
	// The account is still an operator's after all that.
	if got, err := a.LookupAccount(ctx, platform.ID, op.ID); err != nil || !got.HasRole(account.RoleOperator) || got.Status != account.StatusActive {
		t.Fatalf("operator account: %+v %v", got, err)
	}
}

// Giving OPERATOR stays refused to everyone through the API: only the
// bootstrap makes operators.
func TestUpdateAccount_OperatorRoleIsNotGiven(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newRecordingApp(t, 0)
	if _, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "root", Email: "root@platform.example"}); err != nil {
		t.Fatal(err)
	}
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "platform"}
	u, err := a.CreateAccount(ctx, op, app.NewAccount{Username: "ulla", Email: "ulla@platform.example", DisplayName: "Ulla",
		Roles: []account.Role{account.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	roles := []account.Role{account.RoleOperator, account.RoleAdmin}
	if _, err := a.UpdateAccount(ctx, op, app.UpdateAccount{ID: u.ID, Roles: &roles}); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("OPERATOR given: %v, want Invalid", err)
	}
}
