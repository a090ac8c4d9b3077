// Command gatewayd runs the REST and gRPC edge on its own, in front of the
// services' own binaries, configured by environment variables (gatewayd -h
// lists them).
package main

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/natsx"
)

func main() { daemon.Main(binary) }

// binary is gatewayd.
var binary = daemon.Binary[gateway.Config]{
	Name:   "gatewayd",
	About:  "gatewayd runs the Latchkey edge: REST and public gRPC in front of the services, OpenAPI and health; metrics and readiness details on the management listener.",
	Config: gateway.ConfigFromEnv,
	Run: func(ctx context.Context, cfg gateway.Config, env daemon.Env) error {
		cfg.Registerer, cfg.Logger = env.Registry, env.Logger
		if cfg.NATSURL != "" {
			// The gateway publishes and consumes nothing (its user may do
			// neither): it only watches the connection, and reports NATS
			// (degraded while it is away), so it needs no names and no
			// reason to refuse to start without it.
			opts, err := natsx.UserOptions(natsx.Names{}, "gateway", cfg.NATSNKeyFile)
			if err != nil {
				return err
			}
			nc, err := natsx.Connect(ctx, cfg.NATSURL, "gateway", append(opts, nats.RetryOnFailedConnect(true))...)
			if err != nil {
				return err
			}
			defer nc.Close()
			cfg.NATS = natsx.Ready(nc)
			if err := natsx.RegisterConnected(env.Registry, nc, "gateway"); err != nil {
				return err
			}
		}
		gw, err := gateway.New(ctx, cfg)
		if err != nil {
			return err
		}
		defer gw.Close()
		env.Management.Handle("GET /readyz", gw.ReadinessDetails())
		httpLis, grpcLis, err := cfg.Listen()
		if err != nil {
			return err
		}
		env.Logger.Info("serving", "http", cfg.HTTPAddr, "grpc", cfg.GRPCAddr)
		return gw.Serve(ctx, httpLis, grpcLis)
	},
}
