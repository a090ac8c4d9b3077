package grpcx

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/requestid"
)

// internalMessage is all a client learns about an error we did not mean to
// show it.
const internalMessage = "internal error"

// recoveryOption turns a panic into Internal and logs the stack. The panic
// value goes to the log only: it may well contain request data.
func recoveryOption(log *slog.Logger) recovery.Option {
	return recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		method, _ := grpc.Method(ctx)
		log.ErrorContext(ctx, "grpc handler panicked",
			"grpc.method", method, "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, internalMessage)
	})
}

// callNote carries the error a handler really returned from the sanitizer
// (inside) to the logging interceptor (outside), so the one log line per
// call holds the detail the client was not given.
type callNote struct{ err error }

type callNoteKey struct{}

func withNote(ctx context.Context) (context.Context, *callNote) {
	n := &callNote{}
	return context.WithValue(ctx, callNoteKey{}, n), n
}

// grpcStatuser is what grpc-go looks for to find an error's status.
type grpcStatuser interface{ GRPCStatus() *status.Status }

// sanitize decides what the client may see of err. A gRPC status with a
// real code (which includes *errs.Error, through GRPCStatus) passes as it
// is; context errors keep their codes; anything else, and Unknown, is an
// accident whose text may hold SQL, addresses or secrets, so the client
// gets a bare Internal. exposed is false when err was replaced.
func sanitize(err error) (client error, exposed bool) {
	if err == nil {
		return nil, true
	}
	var gs grpcStatuser
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil && st.Code() != codes.OK && st.Code() != codes.Unknown {
			if _, direct := err.(grpcStatuser); direct {
				return err, true
			}
			// Wrapped: grpc-go would send the whole err.Error() chain as
			// the message (status.FromError does that), leaking whatever
			// the wrapping added. Send the inner status alone.
			return st.Err(), true
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, context.Canceled.Error()), true
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error()), true
	}
	return status.Error(codes.Internal, internalMessage), false
}

func unarySanitizer(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		return resp, sanitizeAndNote(ctx, log, info.FullMethod, err)
	}
}

func streamSanitizer(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		return sanitizeAndNote(ss.Context(), log, info.FullMethod, err)
	}
}

func sanitizeAndNote(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	client, exposed := sanitize(err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller went away (or ran out of time) and the handler failed
		// on that, whatever error its driver made of it: the caller's
		// doing, not the service's trouble, and no one is left to tell.
		switch status.Code(client) {
		case codes.Internal, codes.Unavailable, codes.Unknown:
			client, exposed = status.FromContextError(ctxErr).Err(), true
		}
	}
	if n, ok := ctx.Value(callNoteKey{}).(*callNote); ok {
		n.err = err
	} else if !exposed {
		// No logging interceptor outside us: the detail must still land
		// somewhere, or the hidden error is lost.
		log.ErrorContext(ctx, "grpc internal error", "grpc.method", method, "error", err.Error())
	}
	return client
}

func unaryLogging(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, note := withNote(withRequestID(ctx))
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err, note)
		return resp, err
	}
}

func streamLogging(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		ctx, note := withNote(withRequestID(ss.Context()))
		err := handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
		logCall(ctx, log, info.FullMethod, start, err, note)
		return err
	}
}

// withRequestID puts the caller's request id (x-request-id metadata, set
// by the gateway) on ctx, so that the call's log line, every line logged
// with ctx (logx.RequestIDs) and the calls this one makes to other
// services (Dial's interceptor) carry it. An id that is not Valid is
// dropped: the gateway sends only valid ones, and nothing else may forge
// log lines with it.
func withRequestID(ctx context.Context) context.Context {
	// ValueFromIncomingContext copies one key, not the whole metadata:
	// this runs on every call.
	if v := metadata.ValueFromIncomingContext(ctx, requestid.MetadataKey); len(v) > 0 && requestid.Valid(v[0]) {
		return requestid.With(ctx, v[0])
	}
	return ctx
}

// contextStream lets a stream interceptor hand a derived context down.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// logCall writes one line per call: method, code, duration, peer, and for
// failures the error as the handler returned it. Request and response
// bodies are never logged: they carry passwords, codes and tokens. The
// level check comes first, so a call whose line is off (every OK call at
// the default level) costs no attributes.
func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error, note *callNote) {
	code := status.Code(err)
	level := HopLevel(code)
	if code == codes.DeadlineExceeded && ctx.Err() != nil {
		// The caller's deadline, not ours: its own line tells.
		level = slog.LevelDebug
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := CallAttrs(make([]slog.Attr, 0, 6), method, code, start)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
	}
	if id, ok := requestid.From(ctx); ok {
		attrs = append(attrs, slog.String(requestid.LogKey, id))
	}
	if note.err != nil {
		attrs = append(attrs, slog.String("error", note.err.Error()))
	} else if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	log.LogAttrs(ctx, level, "grpc call", attrs...)
}

// CallAttrs appends what every line of a gRPC call starts with — method,
// code, duration since start — to dst: the hops' lines and the edge's
// access lines (gateway) name them alike.
func CallAttrs(dst []slog.Attr, method string, code codes.Code, start time.Time) []slog.Attr {
	return append(dst,
		slog.String("grpc.method", method),
		slog.String("grpc.code", code.String()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
}

// HopLevel is the level of a service's line for one call it answered.
// Every client call already has its access line at the edge (the gateway,
// AccessLevel), so a hop behind it logs at DEBUG whatever the caller did
// wrong, and OK calls too: one log-in crosses three or four services and
// would otherwise write as many lines. A hop speaks up only for its own
// trouble: WARN for what may mend itself (a dependency unavailable, our
// own deadline), ERROR for what needs a person (Internal, Unknown,
// DataLoss: the line holds the detail the client was not given).
// Unimplemented is the caller's business: a peer asking a method this
// version lacks handles the answer, or fails with an error of its own.
func HopLevel(code codes.Code) slog.Level {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded:
		return slog.LevelWarn
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	default:
		return slog.LevelDebug
	}
}

// AccessLevel is the level of the edge's access line of a client call
// with this answer: INFO for every answer a client caused (OK, its
// mistakes, its cancel, its rate limit), WARN for our trouble that may
// mend itself, ERROR for what needs a person.
func AccessLevel(code codes.Code) slog.Level {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded:
		return slog.LevelWarn
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
