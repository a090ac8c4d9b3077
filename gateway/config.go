package gateway

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/latchkey/latchkey/gateway/ui"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/logx"
)

// EdgeFromEnv reads where the edge listens and whom it believes: the
// settings gatewayd and the all-in-one binary share.
func EdgeFromEnv(l *config.Loader) Config {
	cfg := Config{
		HTTPAddr:       l.String("LATCHKEY_HTTP_ADDR", "127.0.0.1:8080", "public REST API, OpenAPI, /healthz, /readyz (ready or not, no details) and the hosted pages"),
		GRPCAddr:       l.String("LATCHKEY_GRPC_ADDR", "127.0.0.1:9090", "public gRPC API (with reflection); set it equal to LATCHKEY_HTTP_ADDR to share one port"),
		UISessionKeys:  ui.SessionKeysFromEnv(l),
		TrustedProxies: l.List("LATCHKEY_TRUSTED_PROXIES", nil, "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-* headers are believed"),
		Timeouts: Timeouts{
			ReadHeader: positive(l, "LATCHKEY_HTTP_READ_HEADER_TIMEOUT", DefaultTimeouts.ReadHeader, "public HTTP: time allowed for a request's headers to arrive (a client trickling them is cut)"),
			Read:       positive(l, "LATCHKEY_HTTP_READ_TIMEOUT", DefaultTimeouts.Read, "public HTTP: time allowed for a whole request, body included, to arrive"),
			Write:      positive(l, "LATCHKEY_HTTP_WRITE_TIMEOUT", DefaultTimeouts.Write, "public HTTP: time allowed to answer a request"),
			Idle:       positive(l, "LATCHKEY_HTTP_IDLE_TIMEOUT", DefaultTimeouts.Idle, "public HTTP: how long a kept-alive connection may wait for its next request"),
		},
		AccessLogRate: l.Int(logx.EnvAccessLogRate, logx.DefaultAccessLogRate, "access lines a second the edge writes, per kind (REST, gRPC) and level; above it the rest are counted and the count logged once a second (0: a line for every call)"),
		RateLimit: RateLimit{
			PerMinute: l.Int("LATCHKEY_RATE_LOGIN_PER_MINUTE", 120, "per client address: log-in, login:continue, login:pin, reauth, password-reset and key requests allowed a minute, together (0: no limit); sized for an office behind one address"),
			Burst:     l.Int("LATCHKEY_RATE_LOGIN_BURST", 60, "per client address: how many of those calls may come at once (e.g. everyone signing in at nine)"),
		},
	}
	if cfg.RateLimit.PerMinute < 0 {
		l.Invalid("LATCHKEY_RATE_LOGIN_PER_MINUTE", errors.New("must be 0 (no limit) or more"))
	}
	if cfg.RateLimit.Burst < 1 {
		l.Invalid("LATCHKEY_RATE_LOGIN_BURST", errors.New("must be 1 or more"))
	}
	return cfg
}

// positive reads a duration that must be above zero.
func positive(l *config.Loader, name string, def time.Duration, description string) time.Duration {
	d := l.Duration(name, def, description)
	if d <= 0 {
		l.Invalid(name, fmt.Errorf("must be above zero, got %s", d))
	}
	return d
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
		// Only its health: /readyz covers every service.
		Notification: infra.PeerAddr(l, "notification"),
	}
	cfg.Identity = infra.IdentityFromEnv(l, infra.Gateway)
	cfg.NATSURL = infra.NATSURL(l)
	cfg.NATSNKeyFile = infra.NATSNKeyFile(l)
	ui.RequireSessionKeys(l)
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
