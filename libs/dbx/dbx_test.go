package dbx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var testMigrations = os.DirFS("testdata/migrations")

// migrateTwice applies the test migrations twice: the second run must be
// a no-op.
func migrateTwice(ctx context.Context, db dbx.DB) error {
	for i := 0; i < 2; i++ {
		if err := dbx.Migrate(ctx, db, "things", testMigrations); err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
	}
	return nil
}

func insert(ctx context.Context, q dbx.Querier, id, name string, at time.Time) error {
	_, err := q.Exec(ctx, "INSERT INTO things (id, name, flag, data, made_at) VALUES ($1, $2, $3, $4, $5)",
		id, name, true, []byte{1, 2, 3}, at)
	return err
}

func TestRoundTripsTypes(t *testing.T) {
	testkit.EachMigratedDialect(t, "things", migrateTwice, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		id := ids.New()
		at := clock.Normalize(time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC))
		if err := insert(ctx, db, id, "a", at); err != nil {
			t.Fatal(err)
		}
		var (
			gotID, name string
			flag        bool
			data        []byte
			madeAt      time.Time
			goneAt      *time.Time
			n           int
		)
		err := db.QueryRow(ctx, "SELECT id, name, flag, data, made_at, gone_at, n FROM things WHERE id = $1", id).
			Scan(&gotID, &name, &flag, &data, &madeAt, &goneAt, &n)
		if err != nil {
			t.Fatal(err)
		}
		if gotID != id || name != "a" || !flag || string(data) != "\x01\x02\x03" || goneAt != nil || n != 0 {
			t.Fatalf("got %q %q %v %v %v %d", gotID, name, flag, data, goneAt, n)
		}
		if !madeAt.Equal(at) {
			t.Fatalf("made_at = %v, want %v", madeAt, at)
		}
		gone := at.Add(time.Hour)
		if _, err := db.Exec(ctx, "UPDATE things SET gone_at = $1 WHERE id = $2", gone, id); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, "SELECT gone_at FROM things WHERE id = $1", id).Scan(&goneAt); err != nil {
			t.Fatal(err)
		}
		if goneAt == nil || !goneAt.Equal(gone) {
			t.Fatalf("gone_at = %v, want %v", goneAt, gone)
		}
	})
}

func TestTimesCompareInSQL(t *testing.T) {
	testkit.EachMigratedDialect(t, "things", migrateTwice, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		base := clock.Normalize(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
		// Fractions of different lengths must still order correctly.
		for i, d := range []time.Duration{0, 500 * time.Millisecond, 450 * time.Millisecond, time.Microsecond, 2 * time.Second} {
			if err := insert(ctx, db, ids.New(), string(rune('a'+i)), base.Add(d)); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM things WHERE made_at > $1", base.Add(450*time.Millisecond)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("rows after base+450ms = %d, want 2", n)
		}
		rows, err := db.Query(ctx, "SELECT name FROM things ORDER BY made_at")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var order string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			order += s
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if order != "adcbe" {
			t.Fatalf("order by made_at = %q, want adcbe", order)
		}
	})
}

func TestNoRowsAndUniqueViolation(t *testing.T) {
	testkit.EachMigratedDialect(t, "things", migrateTwice, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		var s string
		if err := db.QueryRow(ctx, "SELECT name FROM things WHERE id = $1", ids.New()).Scan(&s); !errors.Is(err, dbx.ErrNoRows) {
			t.Fatalf("missing row: err = %v, want ErrNoRows", err)
		}
		if err := insert(ctx, db, ids.New(), "same", time.Now()); err != nil {
			t.Fatal(err)
		}
		err := insert(ctx, db, ids.New(), "same", time.Now())
		constraint, ok := dbx.IsUniqueViolation(err)
		if !ok {
			t.Fatalf("duplicate name: err = %v, want a unique violation", err)
		}
		if db.Dialect() == dbx.Postgres && constraint != "things_name_key" {
			t.Fatalf("constraint = %q", constraint)
		}
	})
}

func TestInTx_CommitsRunsHooks_RollbackDiscards(t *testing.T) {
	testkit.EachMigratedDialect(t, "things", migrateTwice, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		hooks := 0
		err := db.InTx(ctx, func(tx dbx.Tx) error {
			tx.AfterCommit(func() { hooks++ })
			return insert(ctx, tx, ids.New(), "kept", time.Now())
		})
		if err != nil || hooks != 1 {
			t.Fatalf("commit: err=%v hooks=%d", err, hooks)
		}
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx dbx.Tx) error {
			tx.AfterCommit(func() { hooks++ })
			if err := insert(ctx, tx, ids.New(), "dropped", time.Now()); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || hooks != 1 {
			t.Fatalf("rollback: err=%v hooks=%d", err, hooks)
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows = %d (%v), want 1", n, err)
		}
	})
}

func TestMigrate_RejectsBadFileNames(t *testing.T) {
	db, err := dbx.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sqlite"), 0o755)
	os.WriteFile(filepath.Join(dir, "sqlite", "first.sql"), []byte("SELECT 1"), 0o644)
	if err := dbx.Migrate(context.Background(), db, "x", os.DirFS(dir)); err == nil {
		t.Fatal("a migration without a version number was accepted")
	}
}

func TestOpenPostgres_RefusesBadSchemaName(t *testing.T) {
	if _, err := dbx.OpenPostgres(context.Background(), "postgres://127.0.0.1/x", "bad; drop"); err == nil {
		t.Fatal("schema name with SQL in it accepted")
	}
}

// Replicas of a service start together: each migrates the same fresh
// schema at once, and every one of them must succeed (PostgreSQL's CREATE
// TABLE IF NOT EXISTS alone fails the loser of such a race).
func TestMigrate_ReplicasAtOnce(t *testing.T) {
	pg := testkit.Postgres(t)
	ctx := context.Background()
	const replicas = 8
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			db, err := dbx.Open(ctx, pg.URL, "", "things")
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- dbx.Migrate(ctx, db, "things", testMigrations)
		}()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("a replica's migration: %v", err)
		}
	}
}
