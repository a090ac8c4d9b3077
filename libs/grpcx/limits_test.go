package grpcx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/requestid"
)

func TestServer_RefusesMessagesAboveTheLimit(t *testing.T) {
	r := start(t, grpcx.ServerOptions{Limits: grpcx.Limits{MaxRecvMsgBytes: 1 << 10}}, &testService{})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	for _, tc := range []struct {
		size int
		want codes.Code
	}{{512, codes.OK}, {4 << 10, codes.ResourceExhausted}} {
		_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, tc.size)}})
		if status.Code(err) != tc.want {
			t.Errorf("%d bytes: %v, want %v", tc.size, err, tc.want)
		}
	}
}

func TestServer_BoundsConcurrentCallsPerConnection(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	r := start(t, grpcx.ServerOptions{Limits: grpcx.Limits{MaxConcurrentStreams: 1}}, &testService{
		unary: func(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			entered <- struct{}{}
			<-release
			return &testpb.SimpleResponse{}, nil
		},
	})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
			done <- err
		}()
	}
	<-entered
	select {
	case <-entered:
		t.Fatal("a second call ran while the first held the connection's only stream")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestServer_LogsAndPassesOnTheRequestID(t *testing.T) {
	// downstream is the service the first one calls while serving.
	downstream := start(t, grpcx.ServerOptions{}, &testService{})
	next := testpb.NewTestServiceClient(dial(t, downstream.addr, grpcx.DialOptions{}))
	upstream := start(t, grpcx.ServerOptions{}, &testService{
		unary: func(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			return next.UnaryCall(ctx, &testpb.SimpleRequest{})
		},
	})
	client := testpb.NewTestServiceClient(dial(t, upstream.addr, grpcx.DialOptions{}))

	tests := []struct {
		name, sent string
		logged     bool
	}{
		{"valid id", "req-42", true},
		{"invalid id dropped", "has a space", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(callCtx(t), requestid.MetadataKey, tt.sent)
			if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]*running{"upstream": upstream, "downstream": downstream} {
				has := strings.Contains(r.logs.String(), `"`+requestid.LogKey+`":"`+tt.sent+`"`)
				if has != tt.logged {
					t.Errorf("%s log names %q: %v, want %v:\n%s", name, tt.sent, has, tt.logged, r.logs)
				}
			}
		})
	}
}
