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

func TestDial_RetriesUnavailable(t *testing.T) {
	tests := []struct {
		name         string
		failures     int32 // answers before the server succeeds
		code         codes.Code
		wantAttempts int32
		wantCode     codes.Code
	}{
		{"unavailable twice then ok", 2, codes.Unavailable, 3, codes.OK},
		{"unavailable always gives up after 4", 100, codes.Unavailable, 4, codes.Unavailable},
		{"other codes are not retried", 100, codes.Internal, 1, codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			r := start(t, grpcx.ServerOptions{}, &testService{
				unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
					if attempts.Add(1) <= tt.failures {
						return nil, status.Error(tt.code, "try again")
					}
					return &testpb.SimpleResponse{}, nil
				},
			})
			client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
			_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
			if status.Code(err) != tt.wantCode {
				t.Fatalf("call = %v, want %v", err, tt.wantCode)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestDial_RejectsBadServiceConfig(t *testing.T) {
	if _, err := grpcx.Dial("127.0.0.1:1", grpcx.DialOptions{ServiceConfig: "{not json"}); err == nil {
		t.Fatal("want error for a bad service config")
	}
}
