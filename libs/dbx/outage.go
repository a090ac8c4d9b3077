package dbx

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/libs/errs"
)

// stage says how far a statement had got when its connection failed, which
// decides whether the failure may be reported as Unavailable: a call that
// answers Unavailable must have had no effect, because clients (grpcx's
// retry policy first) repeat it.
type stage int

const (
	// afterSend: a statement outside a transaction, or a COMMIT. Once it has
	// gone out, a lost connection leaves its outcome unknown; only a
	// failure before anything was sent (pgconn.SafeToRetry) is Unavailable.
	afterSend stage = iota
	// beforeCommit: a statement inside a transaction, or a read outside
	// one (statementStage). Whatever it did dies with the connection,
	// uncommitted, or changed nothing, so a lost connection is Unavailable.
	beforeCommit
)

// statementStage is the stage of a statement run outside a transaction: a
// plain SELECT changes nothing (Latchkey's SQL calls no function with
// effects from one), so losing its connection halfway still leaves the
// call without effect; anything else (INSERT, UPDATE … RETURNING, WITH …)
// may have committed.
func statementStage(sql string) stage {
	s := strings.TrimLeft(sql, " \t\r\n")
	if len(s) >= 6 && strings.EqualFold(s[:6], "SELECT") {
		return beforeCommit
	}
	return afterSend
}

// reasonUnavailable is what clients switch on (API.md), the same as every
// other dependency that is out of reach.
const reasonUnavailable = "UNAVAILABLE"

// unavailable is the one error of an unreachable database: gRPC
// UNAVAILABLE, REST 503 with Retry-After. The cause goes to the log only.
func unavailable(cause error) error {
	return errs.Unavailable(reasonUnavailable, "temporarily unavailable, try again shortly", cause)
}

// IsUnavailable reports whether err says the database could not be reached
// and the call had no effect.
func IsUnavailable(err error) bool { return errs.Is(err, errs.KindUnavailable) }

// Repeatable is for the error of a statement whose repetition is harmless
// (a request a user may make twice): a connection lost after the statement
// went out, whose outcome is unknown, is reported as Unavailable, so the
// client repeats it, instead of as an internal error that leaves it not
// knowing. Any other error is returned as it is.
func Repeatable(err error) error {
	if err != nil && !IsUnavailable(err) && connectionLost(err) {
		return unavailable(err)
	}
	return err
}

// connectionLost reports a failure of the connection to the server rather
// than of a statement: it could not be opened (refused, unreachable, the
// server starting or shutting down), or it broke. By SQLSTATE where the
// server said why (class 08 connection exception; 57P01–57P03 the server
// shutting down, crashed or not yet accepting connections), else by the
// error's type, never by message text.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's own time ran out; that says nothing of the server,
		// unless it happened while connecting (ConnectError below).
		var ce *pgconn.ConnectError
		return errors.As(err, &ce)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
