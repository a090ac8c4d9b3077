package dbx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"

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
	if st := l.stmts.get(ctx, query); st != nil {
		return sqlExec(ctx, stmtQuerier{st}, query, args)
	}
	return sqlExec(ctx, l.db, query, args)
}

// Query runs a statement that returns rows.
func (l *Lite) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if st := l.stmts.get(ctx, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, mapSQLiteError(err)
		}
		return sqlRows{rows: rows}, nil
	}
	return sqlQuery(ctx, l.db, query, args)
}

// QueryRow runs a statement that returns one row.
func (l *Lite) QueryRow(ctx context.Context, query string, args ...any) Row {
	if st := l.stmts.get(ctx, query); st != nil {
		return sqlRow{row: st.QueryRowContext(ctx, args...)}
	}
	return sqlRow{row: l.db.QueryRowContext(ctx, query, args...)}
}

// InTx runs fn in a transaction (BEGIN IMMEDIATE, so it holds the write lock
// from the start and cannot fail to upgrade later).
func (l *Lite) InTx(ctx context.Context, fn func(tx Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return mapSQLiteError(err)
	}
	ltx := &liteTx{tx: tx, stmts: &l.stmts}
	if err := fn(ltx); err != nil {
		_ = tx.Rollback()
		ltx.prepareMissed(ctx)
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapSQLiteError(err)
	}
	ltx.prepareMissed(ctx)
	ltx.run()
	return nil
}

type liteTx struct {
	tx    *sql.Tx
	stmts *stmtCache
	// reading counts the kept statements whose rows are open: SQLite
	// steps one prepared statement for one caller at a time, so a
	// statement run again while its rows are read runs unprepared.
	reading map[string]int
	// missed are the statements run here that were not kept yet.
	missed map[string]bool
	afterCommit
}

// stmt returns query's kept statement for this transaction, or nil: then
// it runs unprepared.
func (t *liteTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.reading[query] > 0 {
		return nil
	}
	st, room := t.stmts.kept(query)
	if st == nil {
		if room {
			if t.missed == nil {
				t.missed = map[string]bool{}
			}
			t.missed[query] = true
		}
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// prepareMissed prepares the statements first run in the transaction,
// once it has given the connection back (not while it holds it).
func (t *liteTx) prepareMissed(ctx context.Context) {
	for q := range t.missed {
		t.stmts.get(ctx, q)
	}
}

// read marks query's rows open until the returned function is called.
func (t *liteTx) read(query string) (done func()) {
	if t.reading == nil {
		t.reading = map[string]int{}
	}
	t.reading[query]++
	var once sync.Once
	return func() { once.Do(func() { t.reading[query]-- }) }
}

func (t *liteTx) Dialect() Dialect { return SQLite }

func (t *liteTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if st := t.stmt(ctx, query); st != nil {
		return sqlExec(ctx, stmtQuerier{st}, query, args)
	}
	return sqlExec(ctx, t.tx, query, args)
}

func (t *liteTx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	st := t.stmt(ctx, query)
	if st == nil {
		return sqlQuery(ctx, t.tx, query, args)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, mapSQLiteError(err)
	}
	return sqlRows{rows: rows, closed: t.read(query)}, nil
}

func (t *liteTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	st := t.stmt(ctx, query)
	if st == nil {
		return sqlRow{row: t.tx.QueryRowContext(ctx, query, args...)}
	}
	return sqlRow{row: st.QueryRowContext(ctx, args...), scanned: t.read(query)}
}

// stmtQuerier runs a prepared statement where sqlExec and sqlQuery take
// a database or a transaction (the query is the statement's own).
type stmtQuerier struct{ st *sql.Stmt }

func (s stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, args...)
}

func (s stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.st.QueryContext(ctx, args...)
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
	return sqlRows{rows: rows}, nil
}

// sqlRows are rows of database/sql; closed, when set, is called once they
// are closed (a kept statement of a transaction is free again).
type sqlRows struct {
	rows   *sql.Rows
	closed func()
}

func (r sqlRows) Next() bool {
	if r.rows.Next() {
		return true
	}
	r.done() // database/sql closes rows at their end
	return false
}
func (r sqlRows) Scan(dest ...any) error { return mapSQLiteError(r.rows.Scan(dest...)) }
func (r sqlRows) Err() error             { return mapSQLiteError(r.rows.Err()) }
func (r sqlRows) Close()                 { _ = r.rows.Close(); r.done() }

func (r sqlRows) done() {
	if r.closed != nil {
		r.closed()
	}
}

// sqlRow is a row of database/sql; scanned, when set, is called once it
// was scanned (database/sql then closes its rows).
type sqlRow struct {
	row     *sql.Row
	scanned func()
}

func (r sqlRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.scanned != nil {
		r.scanned()
	}
	return mapSQLiteError(err)
}

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
