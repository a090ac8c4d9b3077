package app_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// revokingCredentials notes the session revocations it is asked for, and
// fails them while down.
type revokingCredentials struct {
	countingCredentials
	mu      sync.Mutex
	down    bool
	revokes []string // "account reason"
}

func (c *revokingCredentials) RevokeAllSessions(_ context.Context, _, accountID, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errors.New("credential service unreachable")
	}
	c.revokes = append(c.revokes, accountID+" "+reason)
	return nil
}

func (c *revokingCredentials) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.revokes
	c.revokes = nil
	return out
}

// A change of an account's roles, and only that, ends its sessions, after
// the change is committed: its access tokens carry the old roles.
func TestUpdateAccount_RoleChangeEndsTheSessions(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "account")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	creds := &revokingCredentials{}
	a := app.New(sqlstore.New(db, outbox.New(db, clk, "account")), clk, creds, app.Options{})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	if _, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy(),
		FirstAdmin: &app.NewAccount{Username: "ann", Email: "ann@acme.example", DisplayName: "Ann",
			Activation: account.ActivationTemporaryPassword, TemporaryPassword: "Temporary-Passw0rd!"}}); err != nil {
		t.Fatal(err)
	}
	bob, err := a.CreateAccount(ctx, op, app.NewAccount{Username: "bob", Email: "bob@acme.example", DisplayName: "Bob",
		Roles: []account.Role{account.RoleUser}, Activation: account.ActivationTemporaryPassword, TemporaryPassword: "Temporary-Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	creds.take()
	name := "Bob B."
	for _, tc := range []struct {
		name string
		cmd  app.UpdateAccount
		down bool
		want []string
	}{
		{"promoted", app.UpdateAccount{Roles: &[]account.Role{account.RoleAdmin}}, false, []string{bob.ID + " ROLES_CHANGED"}},
		{"the same roles again", app.UpdateAccount{Roles: &[]account.Role{account.RoleAdmin}}, false, nil},
		{"another field", app.UpdateAccount{DisplayName: &name}, false, nil},
		{"demoted", app.UpdateAccount{Roles: &[]account.Role{account.RoleUser}}, false, []string{bob.ID + " ROLES_CHANGED"}},
		{"demoted while the credential service is down", app.UpdateAccount{Roles: &[]account.Role{account.RoleClient}}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds.mu.Lock()
			creds.down = tc.down
			creds.mu.Unlock()
			tc.cmd.ID = bob.ID
			got, err := a.UpdateAccount(ctx, op, tc.cmd)
			if err != nil || got == nil || tc.cmd.Roles != nil && !slices.Equal(got.Roles, *tc.cmd.Roles) {
				// Saved, whether or not the credential service answered.
				t.Fatalf("UpdateAccount = %v, %v; want the change saved", got, err)
			}
			if tc.down {
				// The event of the change, in its transaction, names the
				// roles: the credential service ends the sessions from it.
				ev := lastEvent(t, db)
				if ev.GetAccountId() != bob.ID || !slices.Contains(ev.GetChangedFields(), "roles") {
					t.Fatalf("last AccountUpdated = %v; want bob's, naming roles", ev)
				}
			}
			if revokes := creds.take(); !slices.Equal(revokes, tc.want) {
				t.Fatalf("revocations %v, want %v", revokes, tc.want)
			}
		})
	}
}

// lastEvent is the last AccountUpdated event of the outbox.
func lastEvent(t *testing.T, db dbx.DB) *eventsv1.AccountUpdated {
	t.Helper()
	var payload []byte
	if err := db.QueryRow(context.Background(), "SELECT payload FROM outbox_events WHERE subject = $1 ORDER BY seq DESC LIMIT 1",
		events.AccountUpdated).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev eventsv1.AccountUpdated
	if err := proto.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}
