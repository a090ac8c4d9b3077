// Package server wires and runs the mfa service; cmd/mfad, the
// all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/services/mfa/internal/grpcapi"
)

// Name is the service's name.
const Name = "mfa"

// Config is what the service needs to run.
type Config struct {
	// GRPCAddr is where the service listens, unless Listener is set.
	GRPCAddr   string
	Listener   net.Listener
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// ConfigFromEnv reads the service's settings from the environment.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		GRPCAddr: l.String("LATCHKEY_MFA_GRPC_ADDR", "127.0.0.1:7004", "mfa service: gRPC listen address"),
	}
}

// Run serves gRPC until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := grpcx.ServerOptions{Logger: cfg.Logger.With("service", Name), Registerer: cfg.Registerer}
	return grpcx.Run(ctx, cfg.Listener, cfg.GRPCAddr, opts, func(s *grpc.Server) { grpcapi.Register(s) })
}
