package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// TestMetrics_LocksCountedByReason: each lock that happened is counted
// once under its reason; a lock that changed nothing is not.
func TestMetrics_LocksCountedByReason(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "account")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := tickingClock{clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	reg := prometheus.NewRegistry()
	m, err := app.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(sqlstore.New(db, outbox.New(db, clk, "account")), clk, slowCredentials{clk}, app.Options{Metrics: m})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	policy := account.DefaultPolicy()
	policy.InactivityLockDays = 30
	if _, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: policy}); err != nil {
		t.Fatal(err)
	}
	active := func(name string) *account.Account {
		t.Helper()
		acct, err := a.CreateAccount(ctx, op, app.NewAccount{Username: name, Email: name + "@acme.example", DisplayName: name,
			Roles: []account.Role{account.RoleUser}})
		if err != nil {
			t.Fatal(err)
		}
		if acct, err = a.MarkActivated(ctx, acct.TenantID, acct.ID); err != nil {
			t.Fatal(err)
		}
		return acct
	}
	bob, cas := active("bob"), active("cas")
	active("dan")
	active("eva")

	if _, err := a.LockAccount(ctx, op, bob.ID, "left the company"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second changes nothing: cas is locked already
		if _, err := a.RecordLockout(ctx, cas.TenantID, cas.ID, account.LockFailedAttempts, nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(31 * 24 * time.Hour)
	if n, err := a.SweepInactive(ctx); err != nil || n != 2 {
		t.Fatalf("sweep locked %d (%v), want dan and eva", n, err)
	}

	want := `
# HELP latchkey_account_locks_total Accounts locked, by reason: failed_attempts (too many wrong log-ins), inactivity (the inactivity sweep) or admin.
# TYPE latchkey_account_locks_total counter
latchkey_account_locks_total{reason="admin"} 1
latchkey_account_locks_total{reason="failed_attempts"} 1
latchkey_account_locks_total{reason="inactivity"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
