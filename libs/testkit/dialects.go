package testkit

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/libs/dbx"
)

// Dialects are the engines every store runs on, in the order tests run
// them. A test that needs a fresh database per subtest (a conformance
// suite's factory) ranges over them with Open or OpenMigrated; others use
// EachDialect or EachMigratedDialect.
var Dialects = []dbx.Dialect{dbx.Postgres, dbx.SQLite}

// Migrator brings a database's schema up to date: a service's
// sqlstore.Migrate, or a closure around dbx.Migrate.
type Migrator func(ctx context.Context, db dbx.DB) error

// runner is *testing.T or *testing.B: something with subtests of its own
// type.
type runner[T any] interface {
	testing.TB
	Run(name string, fn func(T)) bool
}

// EachDialect runs fn as two subtests (or sub-benchmarks), "postgres" and
// "sqlite", each with a fresh, empty database opened through dbx: a schema
// of a database of its own on PostgreSQL, a new file on SQLite. Everything
// a store promises must hold on both, so store tests are written once and
// run through this.
func EachDialect[T runner[T]](t T, schema string, fn func(t T, db dbx.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t T) { fn(t, Open(t, d, schema)) })
	}
}

// EachMigratedDialect is EachDialect with migrate applied to each database
// first (a failure ends the subtest), so fn starts from the service's
// current schema.
func EachMigratedDialect[T runner[T]](t T, schema string, migrate Migrator, fn func(t T, db dbx.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t T) { fn(t, OpenMigrated(t, d, schema, migrate)) })
	}
}

// Open opens a fresh, empty database of dialect d (see OpenPostgres and
// OpenSQLite) and closes it when t ends.
func Open(t testing.TB, d dbx.Dialect, schema string) dbx.DB {
	t.Helper()
	switch d {
	case dbx.Postgres:
		return OpenPostgres(t, schema)
	case dbx.SQLite:
		return OpenSQLite(t, schema)
	}
	t.Fatalf("testkit: unknown dialect %q", d)
	return nil
}

// OpenMigrated opens a fresh database of dialect d and applies migrate to
// it.
func OpenMigrated(t testing.TB, d dbx.Dialect, schema string, migrate Migrator) dbx.DB {
	t.Helper()
	db := Open(t, d, schema)
	if err := migrate(context.Background(), db); err != nil {
		t.Fatalf("testkit: migrate %s on %s: %v", schema, d, err)
	}
	return db
}

// OpenPostgres opens schema in a fresh database of t's own and closes it when
// t ends.
func OpenPostgres(t testing.TB, schema string) *dbx.PG {
	t.Helper()
	db, err := dbx.OpenPostgres(context.Background(), Postgres(t).URL, schema)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// OpenSQLite opens a new SQLite file named after schema in t's temporary
// folder and closes it when t ends.
func OpenSQLite(t testing.TB, schema string) *dbx.Lite {
	t.Helper()
	db, err := dbx.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), schema+".db"))
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}
