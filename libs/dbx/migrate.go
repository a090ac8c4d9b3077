package dbx

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the migrations of one component (a service, or a library
// with tables of its own such as the outbox) that are not applied yet.
//
// fsys holds one folder per dialect, `postgres/` and `sqlite/`, each with
// files named `NNNN_what.sql`; the number is the version. Each file runs in
// its own transaction together with the row that records it, so a failed
// migration leaves nothing half done. On PostgreSQL an advisory lock keeps
// replicas that start together from migrating at the same time.
func Migrate(ctx context.Context, db DB, component string, fsys fs.FS) error {
	files, err := migrationFiles(fsys, string(db.Dialect()))
	if err != nil {
		return fmt.Errorf("dbx: migrations of %s: %w", component, err)
	}
	// Replicas of a service start together and migrate the same schema:
	// one at a time, under a lock (PostgreSQL's CREATE TABLE IF NOT EXISTS
	// is not safe against a concurrent one: the loser fails on the
	// catalog's unique index).
	err = db.InTx(ctx, func(tx Tx) error {
		if err := lockMigrations(ctx, db, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT NOT NULL,
		version    INTEGER NOT NULL,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version))`)
		return err
	})
	if err != nil {
		return fmt.Errorf("dbx: create schema_migrations: %w", err)
	}
	for _, f := range files {
		err := db.InTx(ctx, func(tx Tx) error {
			if err := lockMigrations(ctx, db, tx); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE component = $1 AND version = $2",
				component, f.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := fs.ReadFile(fsys, f.path)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", f.path, err)
			}
			_, err = tx.Exec(ctx, "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, CURRENT_TIMESTAMP)",
				component, f.version, f.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("dbx: migrate %s: %w", component, err)
		}
	}
	return nil
}

// lockMigrations holds, until tx ends, the lock that makes the replicas
// of a service migrate its schema one at a time (SQLite's write lock does
// that by itself).
func lockMigrations(ctx context.Context, db DB, tx Tx) error {
	if db.Dialect() != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('latchkey_migrate_' || current_schema()))")
	return err
}

type migrationFile struct {
	version int
	name    string
	path    string
}

func migrationFiles(fsys fs.FS, dir string) ([]migrationFile, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var files []migrationFile
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: want NNNN_name.sql", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		files = append(files, migrationFile{version: v, name: e.Name(), path: path.Join(dir, e.Name())})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}
