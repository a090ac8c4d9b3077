package grpcx_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
)

// A handler's own UNAVAILABLE (its database is down) reaches the caller
// at once: a retry would fail the same way on any replica and only add
// load (see DefaultServiceConfig).
func TestDial_HandlerErrorsAreNotRetried(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.Internal} {
		t.Run(code.String(), func(t *testing.T) {
			var attempts atomic.Int32
			r := start(t, grpcx.ServerOptions{}, &testService{
				unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
					attempts.Add(1)
					return nil, status.Error(code, "try again")
				},
			})
			client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
			_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
			if status.Code(err) != code {
				t.Fatalf("call = %v, want %v", err, code)
			}
			if got := attempts.Load(); got != 1 {
				t.Errorf("server saw %d attempts, want 1", got)
			}
		})
	}
}

func TestDial_RejectsBadServiceConfig(t *testing.T) {
	if _, err := grpcx.Dial("127.0.0.1:1", grpcx.DialOptions{ServiceConfig: "{not json"}); err == nil {
		t.Fatal("want error for a bad service config")
	}
}
