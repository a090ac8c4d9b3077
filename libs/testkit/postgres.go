package testkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresURLEnv names the environment variable with the URL of a
// PostgreSQL server to create test databases on. Its user must be allowed to
// CREATE DATABASE; its database is only used to connect.
const PostgresURLEnv = "LATCHKEY_TEST_POSTGRES_URL"

// adminTimeout bounds creating and dropping a test database.
const adminTimeout = 30 * time.Second

// PostgresDB is a database that belongs to one test and is dropped after it.
type PostgresDB struct {
	// URL connects to the database, e.g.
	// postgres://postgres@127.0.0.1:5432/t_testlogin_1a2b3c4d5e6f?sslmode=disable.
	URL string
}

// Postgres creates an empty database for t and drops it when t ends, so
// tests never see each other's rows and may run in parallel.
//
// The database lives on the server LATCHKEY_TEST_POSTGRES_URL names or,
// when that is unset or empty, on a throwaway cluster started once per test
// binary from the installed PostgreSQL binaries (see Main). When neither is
// available the test fails: a skipped database test looks like a passing
// one.
func Postgres(t testing.TB) *PostgresDB {
	t.Helper()
	base, err := postgresServerURL()
	if err != nil {
		t.Fatalf("testkit: no PostgreSQL for the test: %v", err)
	}
	if c := clusterRun; c != nil && !c.logged.Swap(true) {
		// Once per binary, in the log of the test that waited for it.
		t.Logf("testkit: throwaway PostgreSQL at %s (started in %v)", c.url, c.took.Round(time.Millisecond))
	}
	name := databaseName(t)
	dbURL, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("testkit: %s: %v", PostgresURLEnv, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := adminExec(ctx, base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testkit: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		// FORCE ends connections a test forgot to close, which would
		// otherwise make DROP fail and leave the database behind.
		if err := adminExec(ctx, base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testkit: drop database %s: %v", name, err)
		}
	})
	return &PostgresDB{URL: dbURL}
}

// Pool opens a connection pool to the database and closes it when t ends
// (before the database is dropped, since cleanups run last-in first-out).
func (db *PostgresDB) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		t.Fatalf("testkit: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	// pgxpool connects lazily; ping so a broken database fails here, not
	// in the middle of the code under test.
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testkit: ping %s: %v", db.URL, err)
	}
	return pool
}

// postgresServerURL returns the URL of the server to create databases on.
func postgresServerURL() (string, error) {
	if u := os.Getenv(PostgresURLEnv); u != "" {
		return u, nil
	}
	c, err := sharedCluster()
	if err != nil {
		return "", fmt.Errorf("%s is not set and no throwaway cluster could be started: %w", PostgresURLEnv, err)
	}
	return c.url, nil
}

// withDatabase returns base with its database replaced by name.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("want a postgres:// URL, got %q", u.Redacted())
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// adminExec runs one statement on its own connection. CREATE and DROP
// DATABASE cannot run inside a transaction, and a short-lived connection
// keeps nothing open that a FORCE drop elsewhere would have to kill.
func adminExec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, sql)
		// 55006 (object_in_use): CREATE DATABASE copies template1 and
		// fails while anyone else is connected to it, such as another
		// test binary's CREATE DATABASE a moment earlier. It clears up
		// by itself.
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
