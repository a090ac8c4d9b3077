package dbx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Lite is a SQLite database file, opened with one connection: SQLite allows
// one writer at a time, and a single connection turns what would be
// SQLITE_BUSY errors into an orderly queue inside the process.
type Lite struct {
	db    *sql.DB
	stmts stmtCache
}

// OpenSQLite opens (creating when missing) the database file at path, in WAL
// mode with foreign keys on. Times are written in SQLite's own sortable text
// form ("2006-01-02 15:04:05.999999999-07:00"), so comparisons in SQL work
// when every time is UTC, as clock.Normalize makes them.
func OpenSQLite(ctx context.Context, path string) (*Lite, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_time_format", "sqlite")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("dbx: open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	// Keep the one connection: closing it would drop an in-memory database.
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("dbx: open sqlite %s: %w", path, err)
	}
	return &Lite{db: db, stmts: stmtCache{db: db, m: map[string]*sql.Stmt{}}}, nil
}

// Dialect is SQLite.
func (l *Lite) Dialect() Dialect { return SQLite }

// Ping checks the file can be read.
func (l *Lite) Ping(ctx context.Context) error { return l.db.PingContext(ctx) }

// Close closes the database.
func (l *Lite) Close() {
	l.stmts.close()
	_ = l.db.Close()
}

// Exec runs a statement.
func (l *Lite) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return sqlExec(ctx, l.db, query, args)
}

// Query runs a statement that returns rows.
func (l *Lite) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if st := l.stmts.get(ctx, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, mapSQLiteError(err)
		}
		return sqlRows{rows}, nil
	}
	return sqlQuery(ctx, l.db, query, args)
}

// QueryRow runs a statement that returns one row.
func (l *Lite) QueryRow(ctx context.Context, query string, args ...any) Row {
	if st := l.stmts.get(ctx, query); st != nil {
		return sqlRow{st.QueryRowContext(ctx, args...)}
	}
	return sqlRow{l.db.QueryRowContext(ctx, query, args...)}
}

// InTx runs fn in a transaction (BEGIN IMMEDIATE, so it holds the write lock
// from the start and cannot fail to upgrade later).
func (l *Lite) InTx(ctx context.Context, fn func(tx Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return mapSQLiteError(err)
	}
	ltx := &liteTx{tx: tx}
	if err := fn(ltx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapSQLiteError(err)
	}
	ltx.run()
	return nil
}

type liteTx struct {
	tx *sql.Tx
	afterCommit
}

func (t *liteTx) Dialect() Dialect { return SQLite }

func (t *liteTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return sqlExec(ctx, t.tx, query, args)
}

func (t *liteTx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return sqlQuery(ctx, t.tx, query, args)
}

func (t *liteTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	return sqlRow{t.tx.QueryRowContext(ctx, query, args...)}
}

type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func sqlExec(ctx context.Context, q sqlQuerier, query string, args []any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapSQLiteError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapSQLiteError(err)
	}
	return n, nil
}

func sqlQuery(ctx context.Context, q sqlQuerier, query string, args []any) (Rows, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapSQLiteError(err)
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ rows *sql.Rows }

func (r sqlRows) Next() bool             { return r.rows.Next() }
func (r sqlRows) Scan(dest ...any) error { return mapSQLiteError(r.rows.Scan(dest...)) }
func (r sqlRows) Err() error             { return mapSQLiteError(r.rows.Err()) }
func (r sqlRows) Close()                 { _ = r.rows.Close() }

type sqlRow struct{ row *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return mapSQLiteError(r.row.Scan(dest...)) }

// mapSQLiteError turns the errors callers act on into dbx's sentinels, by
// SQLite's extended result code.
func mapSQLiteError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRows
	}
	var sErr *sqlite.Error
	if errors.As(err, &sErr) {
		switch sErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &UniqueViolationError{Cause: err}
		}
	}
	return err
}
