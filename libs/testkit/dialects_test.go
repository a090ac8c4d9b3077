package testkit

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/dbx"
)

func TestEachMigratedDialect_RunsBothMigratedAndFresh(t *testing.T) {
	migrate := func(ctx context.Context, db dbx.DB) error {
		_, err := db.Exec(ctx, "CREATE TABLE migrated (id INTEGER)")
		return err
	}
	var seen []dbx.Dialect
	EachMigratedDialect(t, "kit", migrate, func(t *testing.T, db dbx.DB) {
		seen = append(seen, db.Dialect())
		if _, err := db.Exec(context.Background(), "INSERT INTO migrated (id) VALUES (1)"); err != nil {
			t.Fatalf("the migration did not run: %v", err)
		}
		// A second database of the dialect is fresh: migrating it again
		// works (the table is not there yet).
		OpenMigrated(t, db.Dialect(), "kit", migrate)
	})
	if len(seen) != 2 || seen[0] != dbx.Postgres || seen[1] != dbx.SQLite {
		t.Fatalf("ran on %v, want postgres then sqlite", seen)
	}
}

func BenchmarkEachDialect_RunsSubBenchmarks(b *testing.B) {
	EachDialect(b, "kit", func(b *testing.B, db dbx.DB) {
		for b.Loop() {
			if err := db.Ping(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
