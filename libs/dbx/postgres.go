package dbx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PG is a PostgreSQL database reached through a pgx pool, with every
// connection's search_path set to one schema: each service owns its schema
// and never reads another's.
type PG struct {
	pool   *pgxpool.Pool
	schema string
}

// OpenPostgres connects to url, creates schema when it does not exist and
// makes it the search_path of every pooled connection.
func OpenPostgres(ctx context.Context, url, schema string) (*PG, error) {
	if !validIdentifier(schema) {
		return nil, fmt.Errorf("dbx: schema %q: want lower-case letters, digits and _", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("dbx: postgres url: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// Create the schema on a plain connection first: the pool's connections
	// name it in search_path, which PostgreSQL accepts even when it is
	// missing, but every unqualified CREATE would then fail.
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("dbx: connect postgres: %w", err)
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema)
	conn.Close(ctx)
	if err != nil {
		var pgErr *pgconn.PgError
		// Two replicas starting together can race on CREATE SCHEMA; the
		// loser sees unique_violation on the catalog, and the schema exists.
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			return nil, fmt.Errorf("dbx: create schema %s: %w", schema, err)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dbx: open pool: %w", err)
	}
	return &PG{pool: pool, schema: schema}, nil
}

// Pool gives the pgx pool, for what only PostgreSQL has (LISTEN/NOTIFY).
func (p *PG) Pool() *pgxpool.Pool { return p.pool }

// Schema is the schema this database works in.
func (p *PG) Schema() string { return p.schema }

// Dialect is Postgres.
func (p *PG) Dialect() Dialect { return Postgres }

// Ping checks the server answers.
func (p *PG) Ping(ctx context.Context) error { return p.pool.Ping(ctx) }

// Close closes the pool.
func (p *PG) Close() { p.pool.Close() }

// Exec runs a statement.
func (p *PG) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return pgExec(ctx, p.pool, sql, args)
}

// Query runs a statement that returns rows.
func (p *PG) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return pgQuery(ctx, p.pool, sql, args)
}

// QueryRow runs a statement that returns one row.
func (p *PG) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return pgRow{p.pool.QueryRow(ctx, sql, args...)}
}

// InTx runs fn in a transaction, retrying on serialization failures.
func (p *PG) InTx(ctx context.Context, fn func(tx Tx) error) error {
	const attempts = 3
	var err error
	for i := 0; i < attempts; i++ {
		var hooks *afterCommit
		hooks, err = p.inTxOnce(ctx, fn)
		if err == nil {
			hooks.run()
			return nil
		}
		if !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func (p *PG) inTxOnce(ctx context.Context, fn func(tx Tx) error) (*afterCommit, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return nil, mapPGError(err)
	}
	ptx := &pgTx{tx: tx}
	if err := fn(ptx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, mapPGError(err)
	}
	return &ptx.afterCommit, nil
}

type pgTx struct {
	tx pgx.Tx
	afterCommit
}

func (t *pgTx) Dialect() Dialect { return Postgres }

func (t *pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return pgExec(ctx, t.tx, sql, args)
}

func (t *pgTx) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return pgQuery(ctx, t.tx, sql, args)
}

func (t *pgTx) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return pgRow{t.tx.QueryRow(ctx, sql, args...)}
}

type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func pgExec(ctx context.Context, q pgQuerier, sql string, args []any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapPGError(err)
	}
	return tag.RowsAffected(), nil
}

func pgQuery(ctx context.Context, q pgQuerier, sql string, args []any) (Rows, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapPGError(err)
	}
	return pgRows{rows}, nil
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Err() error { return mapPGError(r.Rows.Err()) }

type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error { return mapPGError(r.row.Scan(dest...)) }

// mapPGError turns the errors callers act on into dbx's sentinels, by
// SQLSTATE.
func mapPGError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNoRows
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &UniqueViolationError{Constraint: pgErr.ConstraintName, Cause: err}
	}
	return err
}

// retryable reports serialization failures and deadlocks, which a retry of
// the whole transaction resolves.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

func validIdentifier(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
