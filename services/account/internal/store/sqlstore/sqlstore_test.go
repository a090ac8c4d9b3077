package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/account/internal/store/storetest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		box := outbox.New(db, clock.System{}, "account")
		storetest.Run(t, sqlstore.New(db, box), box.Pending)
	})
}

// Two replicas over one PostgreSQL database: while one holds the sweep's
// lock, the other cannot take it, and it is free again after release.
func TestTryExclusive_AcrossReplicas_Postgres(t *testing.T) {
	ctx := context.Background()
	pg := testkit.Postgres(t)
	open := func() *sqlstore.Store {
		db, err := dbx.OpenPostgres(ctx, pg.URL, "account")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return sqlstore.New(db, outbox.New(db, clock.System{}, "account"))
	}
	a, b := open(), open()
	release, ok, err := a.TryExclusive(ctx, "inactivity_sweep")
	if err != nil || !ok {
		t.Fatalf("replica a: %v %v", ok, err)
	}
	if _, ok, err := b.TryExclusive(ctx, "inactivity_sweep"); err != nil || ok {
		t.Fatalf("replica b while a holds the lock: %v %v, want not ok", ok, err)
	}
	release()
	releaseB, ok, err := b.TryExclusive(ctx, "inactivity_sweep")
	if err != nil || !ok {
		t.Fatalf("replica b after a released: %v %v", ok, err)
	}
	releaseB()
}

// Rows written when logins were folded with lower() get their PRECIS form
// at the next start; two that now fold alike are both kept, the second
// with its old form, and logged for an administrator.
func TestRefoldLogins_RewritesOlderRows(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		st := sqlstore.New(db, outbox.New(db, clock.System{}, "account"))
		tn := &account.Tenant{ID: ids.New(), Code: "rf-" + ids.New()[24:], Name: "Refold", Policy: account.DefaultPolicy(),
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		create := func(username, email string) *account.Account {
			a := &account.Account{ID: ids.New(), TenantID: tn.ID, Username: username, Email: email, DisplayName: username,
				Roles: []account.Role{account.RoleUser}, Status: account.StatusActive, Locale: "en", CreatedAt: tn.CreatedAt, UpdatedAt: tn.CreatedAt}
			if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			return a
		}
		// legacy makes a row as the code before PRECIS wrote it.
		legacy := func(a *account.Account, username, email string) {
			if _, err := db.Exec(ctx, `UPDATE accounts SET username = $1, username_folded = $2, email = $3, email_folded = $4,
				login_key_version = 0 WHERE id = $5`, username, strings.ToLower(username), email, strings.ToLower(email), a.ID); err != nil {
				t.Fatal(err)
			}
			a.Username, a.Email = username, email
		}
		if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
			t.Fatal(err)
		}
		jan := create("jan", "jan@example.com")
		legacy(jan, "jan", "jan@example.com")
		wide := create("wide", "wide@example.com")
		legacy(wide, "Ｊａｎ", "Wide@Example.com") // folds like jan now
		rene := create("rene", "rene@example.com")
		legacy(rene, "Rene\u0301", "Rene\u0301@Example.com")
		if _, err := db.Exec(ctx, `INSERT INTO released_usernames (tenant_id, username_folded, account_id, released_at, login_key_version)
			VALUES ($1, $2, $3, $4, 0)`, tn.ID, strings.ToLower("ＯＬＤ"), rene.ID, tn.CreatedAt); err != nil {
			t.Fatal(err)
		}

		var logged bytes.Buffer
		for range 2 { // a second start changes nothing more
			logged.Reset()
			if err := st.RefoldLogins(ctx, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
				t.Fatal(err)
			}
		}
		for login, want := range map[string]*account.Account{
			"JAN": jan, "Ｊａｎ": jan, "wide@example.com": wide,
			"rene": nil, "REN\u00c9": rene, "rene\u0301": rene, "ren\u00e9@example.com": rene,
		} {
			got, err := st.FindAccountByLogin(ctx, tn.ID, login)
			switch {
			case want == nil && errs.Is(err, errs.KindNotFound):
			case want == nil:
				t.Errorf("FindAccountByLogin(%q) = %v, %v; want none", login, got, err)
			case err != nil || got.ID != want.ID:
				t.Errorf("FindAccountByLogin(%q) = %v, %v; want %s", login, got, err, want.Username)
			case got.Username != want.Username:
				t.Errorf("FindAccountByLogin(%q): username %q, want the typed %q", login, got.Username, want.Username)
			}
		}
		if !strings.Contains(logged.String(), wide.ID) || strings.Contains(logged.String(), jan.ID) {
			t.Errorf("log %q, want the colliding account %s only", logged.String(), wide.ID)
		}
		if held, err := st.UsernameHeld(ctx, tn.ID, "old", "", tn.CreatedAt.Add(-time.Hour)); err != nil || !held {
			t.Errorf("released ＯＬＤ held as old: %v %v", held, err)
		}
	})
}

// A plan PostgreSQL cached while the accounts table was small (the
// tenant's accounts scanned for a login, where a unique key finds one) is
// made again once a bulk change refreshes the statistics: latchkey bench's
// e-mail phase, importing 1000 accounts at a time into a new database,
// took longer with each thousand until autovacuum analyzed the table.
func TestRefreshStatistics_ReplansTheLoginLookupAfterABulkImport(t *testing.T) {
	db := testkit.OpenMigrated(t, dbx.Postgres, "account", sqlstore.Migrate)
	ctx := context.Background()
	s := sqlstore.New(db, outbox.New(db, clock.System{}, "account"))
	conn, err := db.(*dbx.PG).Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The session keeps one generic plan, as a statement cache does.
	for _, sql := range []string{"SET plan_cache_mode = force_generic_plan",
		"PREPARE login_lookup(uuid, text, text) AS " + sqlstore.LoginLookup} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	plan := func() string {
		t.Helper()
		rows, err := conn.Query(ctx, "EXPLAIN EXECUTE login_lookup('0190a0b0-0000-7000-8000-000000000001', 'u', 'e')")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(line + "\n")
		}
		return b.String()
	}
	byUniqueKeys := func(p string) bool {
		return strings.Contains(p, "accounts_username_key") && strings.Contains(p, "accounts_email_key")
	}
	if p := plan(); byUniqueKeys(p) {
		t.Skipf("this PostgreSQL plans the empty table by the unique keys already:\n%s", p)
	}
	tn := &account.Tenant{ID: ids.New(), Code: "bulk", Name: "Bulk", Policy: account.DefaultPolicy(), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for i := range 2000 {
			a := &account.Account{ID: ids.New(), TenantID: tn.ID, Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@bulk.example", i),
				DisplayName: "User", Roles: []account.Role{account.RoleUser}, Status: account.StatusActive, Locale: "en"}
			a.Created(time.Now())
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshStatistics(ctx, 2000); err != nil {
		t.Fatal(err)
	}
	if p := plan(); !byUniqueKeys(p) {
		t.Fatalf("after a bulk import and RefreshStatistics the log-in lookup still scans the tenant:\n%s", p)
	}
	// A tenth of the table or more is looked at again; less is not.
	analyzed := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, "SELECT analyze_count FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'accounts'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := analyzed()
	if err := s.RefreshStatistics(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n := analyzed(); n != before {
		t.Fatalf("10 accounts added to 2000: analyzed %d times more", n-before)
	}
	if err := s.RefreshStatistics(ctx, 300); err != nil {
		t.Fatal(err)
	}
	if n := analyzed(); n != before+1 {
		t.Fatalf("300 accounts added to 2000: analyzed %d times more, want once", n-before)
	}
}
