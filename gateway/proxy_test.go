package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// echoService is a streaming backend: the public protos have no streaming
// methods yet, but the proxy must carry them when they come.
type echoService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (echoService) FullDuplexCall(s testgrpc.TestService_FullDuplexCallServer) error {
	if err := s.SendHeader(metadata.Pairs("x-backend-header", "h")); err != nil {
		return err
	}
	s.SetTrailer(metadata.Pairs("x-backend-trailer", "t"))
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if string(req.GetPayload().GetBody()) == "fail" {
			return status.Error(codes.FailedPrecondition, "told to fail")
		}
		if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

func (echoService) StreamingInputCall(s testgrpc.TestService_StreamingInputCallServer) error {
	n := 0
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n += len(req.GetPayload().GetBody())
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// startEchoProxy serves echoService behind a proxy that routes it.
func startEchoProxy(t *testing.T) *grpc.ClientConn {
	t.Helper()
	backendLis := listen(t)
	backend := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(backend, echoService{})
	go func() { _ = backend.Serve(backendLis) }()
	t.Cleanup(backend.Stop)

	p := &grpcProxy{
		routes: map[string]*grpc.ClientConn{"grpc.testing.TestService": dial(t, backendLis.Addr().String())},
		codec:  newPassThroughCodec(),
		log:    slog.New(slog.DiscardHandler),
	}
	edgeLis := listen(t)
	edge := newGRPCServer(p, health.NewServer())
	go func() { _ = edge.Serve(edgeLis) }()
	t.Cleanup(edge.Stop)
	return dial(t, edgeLis.Addr().String())
}

func streamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProxy_BidiStream_MessagesHeadersTrailers(t *testing.T) {
	client := testgrpc.NewTestServiceClient(startEchoProxy(t))
	stream, err := client.FullDuplexCall(streamCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"one", "two", "three"} {
		if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte(body)}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.GetPayload().GetBody()); got != body {
			t.Errorf("echo = %q, want %q", got, body)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
	if h, _ := stream.Header(); len(h.Get("x-backend-header")) != 1 {
		t.Errorf("header = %v, want x-backend-header", h)
	}
	if tr := stream.Trailer(); len(tr.Get("x-backend-trailer")) != 1 {
		t.Errorf("trailer = %v, want x-backend-trailer", tr)
	}
}

func TestProxy_BidiStream_BackendErrorReachesClient(t *testing.T) {
	client := testgrpc.NewTestServiceClient(startEchoProxy(t))
	stream, err := client.FullDuplexCall(streamCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("fail")}}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || st.Message() != "told to fail" {
		t.Errorf("Recv = %v, want the backend's FailedPrecondition", err)
	}
}

func TestProxy_ClientStream(t *testing.T) {
	client := testgrpc.NewTestServiceClient(startEchoProxy(t))
	stream, err := client.StreamingInputCall(streamCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"ab", "cde"} {
		if err := stream.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: []byte(body)}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAggregatedPayloadSize() != 5 {
		t.Errorf("size = %d, want 5", resp.GetAggregatedPayloadSize())
	}
}

func TestProxy_UnroutedServiceRefused(t *testing.T) {
	conn := startEchoProxy(t)
	_, err := testgrpc.NewUnimplementedServiceClient(conn).UnimplementedCall(streamCtx(t), &testgrpc.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("unrouted call = %v, want Unimplemented", err)
	}
}
