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

// defaultConnectTimeout bounds opening a connection when the URL sets no
// connect_timeout.
const defaultConnectTimeout = 3 * time.Second

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
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server whose packets vanish (a partition, a dead host) would
		// hold a call for the kernel's minutes of TCP retries instead of
		// answering Unavailable; the URL's connect_timeout overrides this.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// A restart of the server leaves every pooled connection dead. pgx
	// pings a connection before use only when it was idle over a second,
	// which a busy connection never is; so also ping it when its socket
	// already holds the server's farewell (see peerHungUp): one system
	// call per use, no round trip.
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || peerHungUp(p.Conn.PgConn().Conn())
	}
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
	conn, err := p.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	return pgExec(ctx, conn, statementStage(sql), sql, args)
}

// Query runs a statement that returns rows.
func (p *PG) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	conn, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := pgQuery(ctx, conn, statementStage(sql), sql, args)
	if err != nil {
		conn.Release()
		return nil, err
	}
	return releasingRows{Rows: rows, conn: conn}, nil
}

// QueryRow runs a statement that returns one row.
func (p *PG) QueryRow(ctx context.Context, sql string, args ...any) Row {
	conn, err := p.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return releasingRow{pgRow{row: conn.QueryRow(ctx, sql, args...), stage: statementStage(sql)}, conn}
}

// releasingRows gives the connection back to the pool when closed.
type releasingRows struct {
	Rows
	conn *pgxpool.Conn
}

func (r releasingRows) Close() {
	r.Rows.Close()
	r.conn.Release()
}

// releasingRow gives the connection back to the pool once scanned.
type releasingRow struct {
	pgRow
	conn *pgxpool.Conn
}

func (r releasingRow) Scan(dest ...any) error {
	defer r.conn.Release()
	return r.pgRow.Scan(dest...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// InTx runs fn in a transaction, retrying on serialization failures, and
// once on a fresh connection when the connection failed before the commit
// was sent (the transaction then never happened).
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
		if !retryable(err) && !(i == 0 && IsUnavailable(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			if IsUnavailable(err) {
				return err // what the client must hear: 503, try again
			}
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func (p *PG) inTxOnce(ctx context.Context, fn func(tx Tx) error) (*afterCommit, error) {
	conn, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, mapPGError(err, beforeCommit)
	}
	ptx := &pgTx{tx: tx}
	if err := fn(ptx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		// Once COMMIT has gone out, a lost connection leaves its outcome
		// unknown: the change may be in. That is not Unavailable, which
		// callers (and grpcx's retry policy) repeat as a call that had no
		// effect; it stays an internal error. Only a COMMIT that never left
		// (pgconn.SafeToRetry) is a transaction that did not happen.
		return nil, mapPGError(err, afterSend)
	}
	return &ptx.afterCommit, nil
}

// acquire takes a connection from the pool. A failure here is the
// database being out of reach (it refuses connections, or the pool had no
// connection to give before ctx's deadline): nothing was sent, so the
// call is Unavailable.
func (p *PG) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := p.pool.Acquire(ctx)
	if err == nil {
		return conn, nil
	}
	if errors.Is(err, context.Canceled) {
		return nil, err // the caller gave up; nothing to tell it
	}
	return nil, unavailable(err)
}

type pgTx struct {
	tx pgx.Tx
	afterCommit
}

func (t *pgTx) Dialect() Dialect { return Postgres }

// A statement inside a transaction is beforeCommit: if the connection
// fails, the transaction dies with it.

func (t *pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return pgExec(ctx, t.tx, beforeCommit, sql, args)
}

func (t *pgTx) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return pgQuery(ctx, t.tx, beforeCommit, sql, args)
}

func (t *pgTx) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return pgRow{row: t.tx.QueryRow(ctx, sql, args...), stage: beforeCommit}
}

type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func pgExec(ctx context.Context, q pgQuerier, stage stage, sql string, args []any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapPGError(err, stage)
	}
	return tag.RowsAffected(), nil
}

func pgQuery(ctx context.Context, q pgQuerier, stage stage, sql string, args []any) (Rows, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapPGError(err, stage)
	}
	return pgRows{rows, stage}, nil
}

type pgRows struct {
	pgx.Rows
	stage stage
}

func (r pgRows) Err() error { return mapPGError(r.Rows.Err(), r.stage) }

type pgRow struct {
	row   pgx.Row
	stage stage
}

func (r pgRow) Scan(dest ...any) error { return mapPGError(r.row.Scan(dest...), r.stage) }

// mapPGError turns the errors callers act on into dbx's sentinels, by
// SQLSTATE, and a lost database into Unavailable where the statement
// cannot have taken effect (see stage).
func mapPGError(err error, stage stage) error {
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
	if connectionLost(err) && (stage == beforeCommit || pgconn.SafeToRetry(err)) {
		return unavailable(err)
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
