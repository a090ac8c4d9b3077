// Package logx builds the structured JSON logger every Latchkey program
// uses, so that all services log in one shape that log pipelines can parse.
//
// What goes to the log, and at which level, is one rule for the suite:
//
//   - One access line per client call, written by the edge (the gateway,
//     for REST and for public gRPC alike) at INFO, or WARN/ERROR when the
//     call failed on our side; above LATCHKEY_ACCESS_LOG_RATE lines a
//     second per kind and level the edge samples them (Sampler) and writes
//     how many it left out. The services behind it log their calls at DEBUG only
//     (grpcx), whatever a client did wrong: the edge's line already says.
//   - ERROR is for what needs a person: an Internal, Unknown or DataLoss
//     answer, a panic, lost or undecodable data. WARN is for our own
//     trouble that may mend itself (a dependency unavailable, a retry).
//     A client's mistake or cancel, a wrong password, an expired token, a
//     rate limit, a busy hash pool, a peer answering NotFound or
//     Unimplemented that the caller handles, a NATS reconnect: INFO or
//     DEBUG, never WARN or ERROR.
//   - Every line of a request names its request id (RequestIDs).
//   - A line at a disabled level costs a level check: check
//     Logger.Enabled before building costly attributes, and never format
//     a DEBUG message with fmt.Sprintf.
package logx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/latchkey/latchkey/libs/requestid"
)

// EnvLevel is the environment variable of the log level (read by
// daemon.OptionsFromEnv, for every binary).
const EnvLevel = "LATCHKEY_LOG_LEVEL"

// ParseLevel reads a level name: debug, info, warn (or warning) or error,
// in any case. An empty name means info. Unknown names are an error rather
// than a silent default, so a typo in deployment config is noticed.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", name)
}

// New returns a logger writing JSON lines to w at the named level.
func New(w io.Writer, level string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(RequestIDs(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))), nil
}

// RequestIDs wraps h so that every line logged with a context that carries
// a request id (requestid.With: the gRPC server interceptors put it there)
// names it, unless the line already does: one request can then be followed
// through every service it crossed.
func RequestIDs(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := requestid.From(ctx); ok {
		named := false
		r.Attrs(func(a slog.Attr) bool {
			named = a.Key == requestid.LogKey
			return !named
		})
		if !named {
			r = r.Clone()
			r.AddAttrs(slog.String(requestid.LogKey, id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
