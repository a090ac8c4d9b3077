// Package dbx opens the two stores Latchkey runs on — PostgreSQL through
// pgx (production) and SQLite in pure Go (the all-in-one default) — behind
// one small query interface, so a service writes its SQL once and runs it on
// both. It also owns transactions, the mapping of database errors to a few
// sentinel kinds (by SQLSTATE or SQLite result code, never by message text)
// and the embedded, versioned migrations.
package dbx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dialect names a database engine. Code that must differ per engine (a
// migration folder, `FOR UPDATE SKIP LOCKED`) switches on it.
type Dialect string

// The dialects Latchkey supports.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Querier runs statements. A DB and a Tx are both Queriers, so store code
// does not care whether it runs inside a transaction.
//
// Placeholders are `$1, $2, …` in both dialects.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	// Query runs a statement that returns rows. The caller closes them.
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// QueryRow runs a statement expected to return at most one row; Scan
	// returns ErrNoRows when there is none.
	QueryRow(ctx context.Context, sql string, args ...any) Row
	// Dialect tells which engine runs the statements.
	Dialect() Dialect
}

// Rows is the result of Query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the result of QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a transaction in progress.
type Tx interface {
	Querier
	// AfterCommit registers fn to run once the transaction has committed
	// (never when it rolls back). The outbox uses it to wake its relay only
	// when there is something committed to send.
	AfterCommit(fn func())
}

// DB is an open database.
type DB interface {
	Querier
	// InTx runs fn in a transaction, committing when fn returns nil and
	// rolling back otherwise. On PostgreSQL a serialization failure or
	// deadlock retries fn a few times, so fn must not have side effects
	// outside the transaction (no network calls inside a transaction).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks the database answers (for readiness checks).
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close()
}

// ErrNoRows is returned by Row.Scan when the query matched nothing.
var ErrNoRows = errors.New("dbx: no rows")

// UniqueViolationError reports that a write broke a unique constraint.
// Constraint is the constraint's name on PostgreSQL; SQLite does not report
// names, so there it is empty and callers that must name the conflicting
// field check for the conflict first inside their transaction (SQLite has a
// single writer, so that check cannot race).
type UniqueViolationError struct {
	Constraint string
	Cause      error
}

func (e *UniqueViolationError) Error() string {
	if e.Constraint == "" {
		return "dbx: unique constraint violated"
	}
	return fmt.Sprintf("dbx: unique constraint %q violated", e.Constraint)
}

func (e *UniqueViolationError) Unwrap() error { return e.Cause }

// IsUniqueViolation reports whether err is a unique-constraint violation and
// returns the constraint's name when the engine gives one.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	var u *UniqueViolationError
	if errors.As(err, &u) {
		return u.Constraint, true
	}
	return "", false
}

type afterCommit struct{ fns []func() }

func (a *afterCommit) AfterCommit(fn func()) { a.fns = append(a.fns, fn) }

func (a *afterCommit) run() {
	for _, fn := range a.fns {
		fn()
	}
}

// Placeholders is "$from, $from+1, …", n of them: the parameters of an
// IN list whose length is known only at run time (both dialects number
// parameters the same way).
func Placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}
