package gateway

import (
	"fmt"
	"net"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
)

// EdgeFromEnv reads where the edge listens and whom it believes: the
// settings gatewayd and the all-in-one binary share.
func EdgeFromEnv(l *config.Loader) Config {
	return Config{
		HTTPAddr:       l.String("LATCHKEY_HTTP_ADDR", "127.0.0.1:8080", "public REST API, OpenAPI, /healthz, /readyz, /metrics and the hosted pages"),
		GRPCAddr:       l.String("LATCHKEY_GRPC_ADDR", "127.0.0.1:9090", "public gRPC API (with reflection); set it equal to LATCHKEY_HTTP_ADDR to share one port"),
		TrustedProxies: l.List("LATCHKEY_TRUSTED_PROXIES", nil, "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-* headers are believed"),
	}
}

// ConfigFromEnv reads gatewayd's settings: the edge's, and the services
// behind it, which it cannot work without.
func ConfigFromEnv(l *config.Loader) Config {
	cfg := EdgeFromEnv(l)
	cfg.Backends = Backends{
		Account:    infra.BackendAddr(l, "account"),
		Credential: infra.BackendAddr(l, "credential"),
		Recovery:   infra.BackendAddr(l, "recovery"),
		MFA:        infra.BackendAddr(l, "mfa"),
	}
	cfg.Identity = infra.IdentityFromEnv(l, infra.Gateway)
	cfg.NATSURL = infra.NATSURL(l)
	return cfg
}

// Listen opens the listeners of cfg's addresses; grpcLis is nil when gRPC
// shares the HTTP port (Serve then tells them apart).
func (cfg Config) Listen() (httpLis, grpcLis net.Listener, err error) {
	if httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, nil, fmt.Errorf("LATCHKEY_HTTP_ADDR: %w", err)
	}
	if cfg.GRPCAddr == cfg.HTTPAddr {
		return httpLis, nil, nil
	}
	if grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		httpLis.Close()
		return nil, nil, fmt.Errorf("LATCHKEY_GRPC_ADDR: %w", err)
	}
	return httpLis, grpcLis, nil
}
