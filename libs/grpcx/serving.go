package grpcx

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// MarkServing reports every service registered on s, and the server as a
// whole (""), as SERVING. Call it once registration and start-up work
// (migrations, connections) are done, so readiness checks see a service
// only when it can answer.
func (s *Server) MarkServing() {
	for name := range s.GRPC().GetServiceInfo() {
		s.Health().SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.Health().SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
}

// Listen returns lis when it is set (the all-in-one binary and tests hand
// services ready listeners), otherwise a new TCP listener on addr.
func Listen(lis net.Listener, addr string) (net.Listener, error) {
	if lis != nil {
		return lis, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("grpcx: listen on %s: %w", addr, err)
	}
	return l, nil
}

// Run is the whole life of a simple gRPC service: listen on addr (unless
// lis is given), build the server, let register add the services, mark
// them SERVING (unless opts.Health is someone else's to keep) and serve
// until ctx is cancelled, then stop gracefully.
func Run(ctx context.Context, lis net.Listener, addr string, opts ServerOptions, register func(*grpc.Server), extra ...grpc.ServerOption) error {
	lis, err := Listen(lis, addr)
	if err != nil {
		return err
	}
	srv := NewServer(opts, extra...)
	register(srv.GRPC())
	if opts.Health == nil {
		srv.MarkServing()
	}
	if opts.Logger != nil {
		opts.Logger.Info("serving", "addr", lis.Addr().String())
	}
	return srv.Serve(ctx, lis)
}
