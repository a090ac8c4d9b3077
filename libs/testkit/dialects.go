package testkit

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/libs/dbx"
)

// EachDialect runs fn as two subtests, "postgres" and "sqlite", each with a
// fresh, empty database opened through dbx: a schema of a database of its
// own on PostgreSQL, a new file on SQLite. Everything a store promises must
// hold on both, so store tests are written once and run through this.
func EachDialect(t *testing.T, schema string, fn func(t *testing.T, db dbx.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		fn(t, OpenPostgres(t, schema))
	})
	t.Run("sqlite", func(t *testing.T) {
		fn(t, OpenSQLite(t, schema))
	})
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
