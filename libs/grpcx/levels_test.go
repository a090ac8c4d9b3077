package grpcx_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/testkit"
)

// Behind the edge a service logs only its own trouble above DEBUG: a
// client's mistake, cancel or rate limit, and a peer's Unimplemented, have
// their line at the edge already (issue 14: every log-in wrote an ERROR
// line because a peer answered "not implemented").
func TestHopLevel_OnlyOurOwnTroubleIsAboveDebug(t *testing.T) {
	debug := []codes.Code{codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition, codes.ResourceExhausted,
		codes.Aborted, codes.OutOfRange, codes.Unimplemented}
	for _, c := range debug {
		if got := grpcx.HopLevel(c); got != slog.LevelDebug {
			t.Errorf("HopLevel(%s) = %s, want DEBUG", c, got)
		}
		if got := grpcx.AccessLevel(c); got != slog.LevelInfo {
			t.Errorf("AccessLevel(%s) = %s, want INFO", c, got)
		}
	}
	for c, want := range map[codes.Code]slog.Level{
		codes.Unavailable: slog.LevelWarn, codes.DeadlineExceeded: slog.LevelWarn,
		codes.Internal: slog.LevelError, codes.Unknown: slog.LevelError, codes.DataLoss: slog.LevelError,
	} {
		if got := grpcx.HopLevel(c); got != want {
			t.Errorf("HopLevel(%s) = %s, want %s", c, got, want)
		}
		if got := grpcx.AccessLevel(c); got != want {
			t.Errorf("AccessLevel(%s) = %s, want %s", c, got, want)
		}
	}
}

// At the production level (info) a service writes nothing for calls that
// went well or that a client got wrong, and one ERROR line, with the
// hidden detail, for a failure of its own.
func TestServer_AtInfoLogsOnlyItsOwnFailures(t *testing.T) {
	logs := &testkit.LogBuffer{}
	var answer error
	r := start(t, grpcx.ServerOptions{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, &testService{
		unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			return &testpb.SimpleResponse{}, answer
		}})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	for _, answer = range []error{
		nil,
		errs.NotFound("NOT_FOUND", "no such account"),
		errs.Unauthenticated("BAD_CREDENTIALS", "wrong password"),
		status.Error(codes.Unimplemented, "not in this version"),
		errs.TooManyAttempts("BUSY", "busy"),
		errors.New("db: connection reset"),
	} {
		_, _ = client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
	}
	var lines []map[string]any
	for s := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%v: %s", err, s)
		}
		if m["msg"] == "grpc call" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["grpc.code"] != "Internal" ||
		!strings.Contains(lines[0]["error"].(string), "connection reset") {
		t.Fatalf("call lines at info = %v, want the one ERROR line of the Internal failure", lines)
	}
}
