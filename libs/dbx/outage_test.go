package dbx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/testkit"
)

// poolSize is how many connections the tests below fill the pool with, so
// that a restart leaves that many dead ones behind.
const poolSize = 4 // pgxpool's default size on a small machine

// openOutageDB opens a pool on srv with poolSize connections in it and a
// table to write to.
func openOutageDB(t *testing.T, url string) *dbx.PG {
	t.Helper()
	ctx := context.Background()
	db, err := dbx.OpenPostgres(ctx, url, "outage")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Exec(ctx, "CREATE TABLE IF NOT EXISTS marks (n int)"); err != nil {
		t.Fatal(err)
	}
	// Hold poolSize connections at once, so that many sit in the pool.
	if err := everyAtOnce(poolSize, func(int) error {
		return db.QueryRow(ctx, "SELECT 1 FROM pg_sleep(0.05)").Scan(new(int))
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

// everyAtOnce runs n calls of fn at the same time and joins their errors.
func everyAtOnce(n int, fn func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			if err := fn(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// calls are one of each kind of call a store makes: a write outside a
// transaction, a read, a transaction.
func calls(db dbx.DB) []func(ctx context.Context) error {
	return []func(ctx context.Context) error{
		func(ctx context.Context) error {
			_, err := db.Exec(ctx, "INSERT INTO marks (n) VALUES (1)")
			return err
		},
		func(ctx context.Context) error {
			return db.QueryRow(ctx, "SELECT count(*) FROM marks").Scan(new(int))
		},
		func(ctx context.Context) error {
			rows, err := db.Query(ctx, "SELECT n FROM marks LIMIT 1")
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		},
		func(ctx context.Context) error {
			return db.InTx(ctx, func(tx dbx.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO marks (n) VALUES (2)")
				return err
			})
		},
	}
}

func TestPostgresOutage_UnavailableWhileDown_NoFailureOnceBack(t *testing.T) {
	srv := testkit.NewStoppablePostgres(t)
	db := openOutageDB(t, srv.URL)
	ctx := context.Background()

	srv.Stop(t)
	for i, call := range calls(db) {
		err := call(ctx)
		if !dbx.IsUnavailable(err) {
			t.Fatalf("call %d with the database down: %v, want Unavailable", i, err)
		}
		if st := status.Convert(err); st.Code() != codes.Unavailable {
			t.Errorf("call %d: gRPC status %v, want UNAVAILABLE", i, st.Code())
		}
	}
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping answered with the database down")
	}

	srv.Start(t)
	// Once the server is back, not one call fails: the pool's connections
	// from before the restart are dropped before use.
	if err := everyAtOnce(poolSize*2, func(i int) error { return calls(db)[i%4](ctx) }); err != nil {
		t.Fatalf("calls right after the restart: %v", err)
	}
}

// A server that ends its connections (a restart, an administrator, a
// failover) leaves the pool holding dead ones; a call on the heels of
// that, before pgx's one-second idle ping would catch them, must not fail.
func TestPostgres_DropsConnectionsTheServerEnded(t *testing.T) {
	srv := testkit.NewStoppablePostgres(t)
	db := openOutageDB(t, srv.URL)
	ctx := context.Background()
	for range 3 {
		admin, err := dbx.OpenPostgres(ctx, srv.URL, "admin")
		if err != nil {
			t.Fatal(err)
		}
		const others = `FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name = ''`
		var ended int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) `+others).Scan(&ended); err != nil {
			t.Fatal(err)
		}
		if ended < poolSize {
			t.Fatalf("ended %d connections, want at least %d", ended, poolSize)
		}
		// A backend writes its farewell to the client's socket before it
		// exits: once none is left, every farewell has arrived (a fixed
		// 20 ms was too short on a busy machine under -race).
		testkit.Eventually(t, 10*time.Second, func() error {
			var left int
			if err := admin.QueryRow(ctx, `SELECT count(*) `+others).Scan(&left); err != nil {
				return err
			}
			if left > 0 {
				return fmt.Errorf("%d ended backends still running", left)
			}
			return nil
		})
		admin.Close()
		if err := everyAtOnce(poolSize, func(i int) error { return calls(db)[i%4](ctx) }); err != nil {
			t.Fatalf("calls after the server ended the connections: %v", err)
		}
		// Fill the pool again for the next round.
		if err := everyAtOnce(poolSize, func(int) error {
			return db.QueryRow(ctx, "SELECT 1 FROM pg_sleep(0.05)").Scan(new(int))
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStatementStage_SelectAloneHasNoEffect(t *testing.T) {
	for sql, noEffect := range map[string]bool{
		"SELECT 1":                               true,
		"\n\t  select count(*) FROM marks":       true,
		"INSERT INTO marks (n) VALUES (1)":       false,
		"UPDATE marks SET n = 2 RETURNING n":     false,
		"WITH x AS (DELETE FROM marks) SELECT 1": false,
		"SEL":                                    false,
	} {
		if got := dbx.StatementHasNoEffect(sql); got != noEffect {
			t.Errorf("%q: no effect = %v, want %v", sql, got, noEffect)
		}
	}
}

// Repeatable tells a statement whose outcome a broken connection left
// unknown to be tried again (Unavailable), and leaves every other error
// as it was.
func TestRepeatable_LostConnectionIsUnavailable(t *testing.T) {
	shutdown := fmt.Errorf("insert: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	if err := dbx.Repeatable(shutdown); !dbx.IsUnavailable(err) {
		t.Errorf("server shutting down: %v, want Unavailable", err)
	}
	if err := dbx.Repeatable(io.ErrUnexpectedEOF); !dbx.IsUnavailable(err) {
		t.Errorf("connection cut: %v, want Unavailable", err)
	}
	unique := &pgconn.PgError{Code: "23505"}
	if err := dbx.Repeatable(unique); err != unique {
		t.Errorf("unique violation: %v, want it unchanged", err)
	}
	if err := dbx.Repeatable(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
}
