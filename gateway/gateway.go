package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/latchkey/latchkey/gateway/ui"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/mtls"
)

// Backends are the gRPC targets of the services behind the gateway, in a
// form grpcx.Dial accepts (e.g. "127.0.0.1:7001",
// "account-1:7001,account-2:7001", "dns:///account:7001").
type Backends struct {
	// The public APIs the gateway maps, all four required.
	Account, Credential, Recovery, MFA string
	// Notification is the notification service's internal address, which
	// has no public API: the gateway only asks its health, so that
	// /readyz covers it too (empty: it does not).
	Notification string
}

// Config configures New.
type Config struct {
	// HTTPAddr and GRPCAddr are where Listen opens the REST and the
	// public gRPC listeners (equal: one port for both).
	HTTPAddr, GRPCAddr string
	// NATSURL, when set, is connected to so that /readyz reports NATS
	// (gatewayd; the all-in-one passes its own check in NATS).
	NATSURL string
	// NATSNKeyFile holds gatewayd's nkey seed for NATSURL (empty: no
	// authentication).
	NATSNKeyFile string
	// Backends are required, all four public ones.
	Backends Backends
	// Identity is the gateway's certificate: the backends admit the
	// gateway alone to their public APIs, over mutual TLS. Nil dials
	// plaintext, which only tests do.
	Identity *mtls.Identity
	// TrustedProxies are IPs or CIDRs whose X-Forwarded-* headers (and
	// x-forwarded-for gRPC metadata) are believed; from any other peer they
	// are stripped.
	TrustedProxies []string
	// NATS, when set, tells whether NATS is connected; its failure makes
	// the management /readyz say "degraded", not unready: the services'
	// outboxes keep the events until NATS is back.
	NATS func(ctx context.Context) error
	// Registerer receives the gateway's REST and backend-client metrics;
	// nil means the gateway records none.
	Registerer prometheus.Registerer
	// Logger receives one line per REST call and the readiness failures;
	// nil means slog.Default().
	Logger *slog.Logger
	// UISessionKeys seal the hosted pages' session cookie
	// (LATCHKEY_UI_SESSION_KEYS); with it the gateway serves the hosted
	// pages (package ui) under /ui/, without it none.
	UISessionKeys *keyring.Ring
	// Pages, when set, serves further pages under /ui/ that the hosted
	// pages do not (the all-in-one's mailbox); it sees the full path, /ui/
	// included.
	Pages http.Handler
	// Timeouts bound how long one HTTP request may take to arrive and to
	// be answered; zero fields mean the defaults (DefaultTimeouts).
	Timeouts Timeouts
	// RateLimit bounds sign-in and recovery calls per client address; the
	// zero value means no limit (EdgeFromEnv gives the defaults).
	RateLimit RateLimit
	// AccessLogRate bounds the access lines the edge writes a second, per
	// kind (REST, gRPC) and level; the rest are counted and the count
	// logged (logx.Sampler). Zero or less: every call has its line.
	AccessLogRate int
	// Clock times the rate limits; nil means the system clock.
	Clock clock.Clock
}

// Gateway is the public edge: a REST handler and a public gRPC server, both
// backed by one connection per backend service.
type Gateway struct {
	conns    map[backend]*grpc.ClientConn
	http     http.Handler
	grpc     *grpc.Server
	health   *health.Server
	ready    *readyCheck
	timeouts Timeouts
	draining atomic.Bool
	log      *slog.Logger
}

// New dials the backends and builds the handlers. Dialing does not connect
// yet (grpcx.Dial), so the backends may start after the gateway; /readyz
// says when they are there.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	proxies, err := parseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	metrics, err := newRESTMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("gateway: registering metrics: %w", err)
	}

	g := &Gateway{conns: map[backend]*grpc.ClientConn{}, health: health.NewServer(), timeouts: cfg.Timeouts.withDefaults(), log: log}
	limiter := newAddressLimiter(cfg.RateLimit, cfg.Clock)
	sampler := logx.NewSampler(log, cfg.AccessLogRate)
	targets := map[backend]string{
		backendAccount:    cfg.Backends.Account,
		backendCredential: cfg.Backends.Credential,
		backendRecovery:   cfg.Backends.Recovery,
		backendMFA:        cfg.Backends.MFA,
	}
	if cfg.Backends.Notification != "" {
		targets[backendNotification] = cfg.Backends.Notification
	}
	for name, target := range targets {
		if target == "" {
			g.Close()
			return nil, fmt.Errorf("gateway: no target for the %s backend", name)
		}
		opts := grpcx.DialOptions{Registerer: cfg.Registerer, Extra: limiter.dialOptions()}
		if cfg.Identity != nil {
			opts.TLS = cfg.Identity.ClientTLS(string(name))
		}
		conn, err := grpcx.Dial(target, opts)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.conns[name] = conn
	}

	rest, err := newRESTMux(ctx, g.conns, runtime.WithMiddlewares(observe(metrics, log, sampler)), runtime.WithErrorHandler(restErrorHandler(log)))
	if err != nil {
		g.Close()
		return nil, err
	}
	g.ready = newReadyCheck(g.conns, cfg.NATS, &g.draining, log)

	// /metrics is not here: it is served on the management listener
	// (ReadinessDetails says what else is), which is not public.
	mux := http.NewServeMux()
	mux.Handle("/", limitBody(rest))
	mux.Handle("GET /openapi.json", openAPIHandler(openAPIDocument))
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", g.ready)
	if cfg.UISessionKeys != nil {
		pages, err := ui.New(ui.Config{
			Clients:     ui.NewClients(g.conns[backendAccount], g.conns[backendCredential], g.conns[backendRecovery], g.conns[backendMFA]),
			SessionKeys: cfg.UISessionKeys,
			ClientIP: func(r *http.Request) string {
				ip, _ := clientIPFrom(r.Context())
				return ip
			},
			Forwarded: func(r *http.Request) bool { return Forwarded(r.Context()) },
			Fallback:  cfg.Pages,
			Clock:     cfg.Clock,
			Logger:    log,
		})
		if err != nil {
			g.Close()
			return nil, err
		}
		mux.Handle("/ui/", observePages(metrics, log, sampler, limitBody(pages)))
	} else if cfg.Pages != nil {
		mux.Handle("/ui/", observePages(metrics, log, sampler, cfg.Pages))
	}
	g.http = proxies.forwardedPolicy(withRequestIDs(withTrace(mux)))

	routes := map[string]*grpc.ClientConn{}
	for _, s := range publicServices {
		routes[s.name] = g.conns[s.backend]
	}
	g.grpc = newGRPCServer(&grpcProxy{routes: routes, proxies: proxies, codec: newPassThroughCodec(), log: log, sampler: sampler}, g.health)
	return g, nil
}

// HTTPHandler serves REST (/v1/..., /.well-known/jwks.json), /openapi.json,
// /healthz, /readyz and, when configured, /ui/.
func (g *Gateway) HTTPHandler() http.Handler { return g.http }

// ReadinessDetails is the /readyz of the management listener: the public
// one's check, naming what is not ready (a backend, "shutdown" while
// stopping) and what is degraded ("nats").
func (g *Gateway) ReadinessDetails() http.Handler { return g.ready.details() }

// GRPCServer is the public gRPC endpoint: the public services, proxied to
// their backends, with health and reflection.
func (g *Gateway) GRPCServer() *grpc.Server { return g.grpc }

// Close closes the backend connections. Call it after Serve has returned.
func (g *Gateway) Close() error {
	var errs []error
	for _, c := range g.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
