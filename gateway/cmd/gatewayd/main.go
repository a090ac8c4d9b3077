// Command gatewayd runs the REST and gRPC edge on its own, in front of the
// services' own binaries, configured by environment variables (see the
// README).
package main

import (
	"context"
	"fmt"
	"net"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/natsx"
)

func main() {
	daemon.Main("gatewayd", func(env daemon.Env) (func(context.Context) error, error) {
		l := env.Config
		httpAddr := l.String("LATCHKEY_HTTP_ADDR", "127.0.0.1:8080", "public REST API, OpenAPI, /healthz, /readyz, /metrics")
		grpcAddr := l.String("LATCHKEY_GRPC_ADDR", "127.0.0.1:9090", "public gRPC API; equal to LATCHKEY_HTTP_ADDR to share one port")
		natsURL := l.String("LATCHKEY_NATS_URL", "", "NATS server, checked by /readyz (empty: not checked)")
		cfg := gateway.Config{
			Backends: gateway.Backends{
				Account:    l.String("LATCHKEY_ACCOUNT_ADDR", "127.0.0.1:7001", "gRPC address of the account service"),
				Credential: l.String("LATCHKEY_CREDENTIAL_ADDR", "127.0.0.1:7002", "gRPC address of the credential service"),
				Recovery:   l.String("LATCHKEY_RECOVERY_ADDR", "127.0.0.1:7003", "gRPC address of the recovery service"),
				MFA:        l.String("LATCHKEY_MFA_ADDR", "127.0.0.1:7004", "gRPC address of the mfa service"),
			},
			TrustedProxies: l.List("LATCHKEY_TRUSTED_PROXIES", nil, "IPs or CIDRs of reverse proxies whose X-Forwarded-* headers are believed"),
			Gatherer:       env.Registry,
			Registerer:     env.Registry,
			Logger:         env.Logger,
		}
		if l.Err() != nil {
			return nil, nil
		}
		return func(ctx context.Context) error {
			if natsURL != "" {
				nc, err := natsx.Connect(ctx, natsURL, "gateway")
				if err != nil {
					return err
				}
				defer nc.Close()
				cfg.Ready = natsx.Ready(nc)
			}
			gw, err := gateway.New(ctx, cfg)
			if err != nil {
				return err
			}
			defer gw.Close()
			httpLis, err := net.Listen("tcp", httpAddr)
			if err != nil {
				return fmt.Errorf("LATCHKEY_HTTP_ADDR: %w", err)
			}
			var grpcLis net.Listener
			if grpcAddr != httpAddr {
				if grpcLis, err = net.Listen("tcp", grpcAddr); err != nil {
					return fmt.Errorf("LATCHKEY_GRPC_ADDR: %w", err)
				}
			}
			env.Logger.Info("serving", "http", httpAddr, "grpc", grpcAddr)
			return gw.Serve(ctx, httpLis, grpcLis)
		}, nil
	})
}
