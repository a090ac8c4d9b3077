package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

// TestEvents_CarryTheTimeOfTheirChange runs every use case that writes
// events with a clock that moves on at each reading and a credential
// service that takes a second per call. Every event must carry the time
// of the change it reports: the time its rows were written with, read
// inside the transaction (not before the transaction began, e.g. before
// the call to the credential service).
func TestEvents_CarryTheTimeOfTheirChange(t *testing.T) {
	ctx := context.Background()
	a, st, clk := newRecordingApp(t, 1)
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	const temporary = "Temporary-Passw0rd!"
	var (
		admin, invited *account.Account
		imported       []string
	)

	steps := []struct {
		name   string
		events int // at least this many
		run    func() error
	}{
		{"create tenant with its first admin", 2, func() error {
			policy := account.DefaultPolicy()
			policy.InactivityLockDays = 30
			_, fa, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: policy, FirstAdmin: &app.NewAccount{
				Username: "ann", Email: "ann@acme.example", DisplayName: "Ann",
				Activation: account.ActivationTemporaryPassword, TemporaryPassword: temporary,
			}})
			admin = fa
			return err
		}},
		{"create an account with a temporary password", 1, func() error {
			_, err := a.CreateAccount(ctx, op, app.NewAccount{Username: "bob", Email: "bob@acme.example", DisplayName: "Bob",
				Roles: []account.Role{account.RoleUser}, Activation: account.ActivationTemporaryPassword, TemporaryPassword: temporary})
			return err
		}},
		{"invite an account", 2, func() error {
			var err error
			invited, err = a.CreateAccount(ctx, op, app.NewAccount{Username: "cas", Email: "cas@acme.example", DisplayName: "Cas",
				Roles: []account.Role{account.RoleClient}})
			return err
		}},
		{"activate it", 1, func() error {
			_, err := a.MarkActivated(ctx, invited.TenantID, invited.ID)
			return err
		}},
		{"import accounts", 2, func() error {
			rows := []app.ImportRow{
				{ID: ids.New(), Username: "dik", Email: "dik@acme.example", DisplayName: "Dik"},
				{ID: ids.New(), Username: "eva", Email: "eva@acme.example", DisplayName: "Eva"},
			}
			_, created, err := a.ImportAccounts(ctx, admin.TenantID, rows, false, app.ImportKey{})
			if err == nil && !created {
				t.Fatal("import refused")
			}
			imported = []string{rows[0].ID, rows[1].ID}
			return err
		}},
		{"lock an account", 1, func() error {
			_, err := a.LockAccount(ctx, op, imported[0], "")
			return err
		}},
		{"unlock it", 1, func() error {
			_, err := a.UnlockAccount(ctx, op, imported[0], "")
			return err
		}},
		{"change a username", 1, func() error {
			_, err := a.ChangeUsername(ctx, op, imported[1], "eva2")
			return err
		}},
		{"change the tenant policy", 1, func() error {
			_, err := a.UpdateTenantPolicy(ctx, op, func(p *account.Policy) { p.Lockout.MaxFailedAttempts = 3 })
			return err
		}},
		{"publish terms", 1, func() error {
			_, err := a.PublishTerms(ctx, op, "v1", "Be nice.")
			return err
		}},
		{"sweep inactive accounts, a batch at a time", 4, func() error {
			clk.advance(31 * 24 * time.Hour)
			_, err := a.SweepInactive(ctx)
			return err
		}},
		{"bootstrap the operator", 2, func() error {
			_, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "op", Email: "op@platform.example"})
			return err
		}},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		n := 0
		for i, tx := range st.take() {
			n += len(tx.events)
			rows := map[time.Time]bool{}
			for _, r := range tx.rows {
				rows[r] = true
			}
			for _, at := range tx.events {
				if at.Before(tx.began) {
					t.Errorf("%s, transaction %d: event at %v, before its transaction began (%v)", step.name, i, at, tx.began)
				}
				if !rows[at] {
					t.Errorf("%s, transaction %d: event at %v, but its rows were written at %v", step.name, i, at, tx.rows)
				}
			}
		}
		if n < step.events {
			t.Errorf("%s: %d events, want at least %d", step.name, n, step.events)
		}
	}
}
