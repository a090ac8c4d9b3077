// Package infra opens what a stateful service runs on, the same way for
// every service: its database (migrated), NATS with the Latchkey streams,
// and its gRPC listener. What a service does with them stays in its own
// server package.
package infra

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/readiness"
)

// Service names what Open opens for: the service's name (its PostgreSQL
// schema, SQLite file and NATS connection name) and its own migrations.
type Service struct {
	Name string
	// Migrations has the service's schema, folders postgres/ and sqlite/
	// (nil: the outbox's and inbox's tables only).
	Migrations fs.FS
}

// Infra is a service's open infrastructure.
type Infra struct {
	DB   dbx.DB
	NATS *nats.Conn
	JS   jetstream.JetStream
	// Names are the deployment's names on NATS (Settings.NATSNames): give
	// them to whatever publishes or consumes (Relay and Consume do).
	Names natsx.Names
	// Listener is the public API's (nil for a service without one);
	// InternalListener the internal API's.
	Listener         net.Listener
	InternalListener net.Listener

	// ready checks what the service cannot serve without (its database,
	// the peers of DialRequired) and what it rides out (NATS).
	ready      *readiness.Checker
	service    string
	registerer prometheus.Registerer
	closers    []func()
}

// Readiness check names.
const (
	checkDatabase = "database"
	checkNATS     = "nats"
)

// Open opens the database and migrates it, connects to NATS and ensures
// the streams, and opens the listeners: the internal one always, the
// public one when cfg names it. On error, what was opened is closed.
func Open(ctx context.Context, svc Service, cfg Settings) (_ *Infra, err error) {
	cfg = cfg.WithDefaults()
	in := &Infra{ready: readiness.New(cfg.Logger.With("service", svc.Name)), service: svc.Name, registerer: cfg.Registerer}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	if in.DB, err = dbx.Open(ctx, cfg.PostgresURL, cfg.DataDir, svc.Name); err != nil {
		return nil, err
	}
	in.closers = append(in.closers, in.DB.Close)
	if err = Migrate(ctx, in.DB, svc); err != nil {
		return nil, err
	}
	in.ready.Add(readiness.Check{Name: checkDatabase, Probe: in.DB.Ping})
	if err = CheckNATS(cfg.NATSNames, cfg.NATSReplicas); err != nil {
		return nil, err
	}
	in.Names = cfg.NATSNames
	if in.NATS = cfg.NATS; in.NATS == nil {
		opts, err := natsx.UserOptions(cfg.NATSNames, svc.Name, cfg.NATSNKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvNATSNKeyFile, err)
		}
		if in.NATS, err = natsx.Connect(ctx, cfg.NATSURL, svc.Name, opts...); err != nil {
			return nil, err
		}
		in.closers = append(in.closers, in.NATS.Close)
		if cfg.Registerer != nil {
			if err = natsx.RegisterConnected(cfg.Registerer, in.NATS, svc.Name); err != nil {
				return nil, err
			}
		}
	}
	in.ready.Add(readiness.Check{Name: checkNATS, Probe: natsx.Ready(in.NATS), Optional: true})
	if in.JS, err = natsx.NewJetStream(in.NATS); err != nil {
		return nil, err
	}
	if err = natsx.AwaitStreams(ctx, in.JS, natsx.StreamOptions{Names: cfg.NATSNames, Replicas: cfg.NATSReplicas}, cfg.Logger.With("service", svc.Name)); err != nil {
		return nil, err
	}
	if in.InternalListener, err = grpcx.Listen(cfg.InternalListener, cfg.InternalAddr); err != nil {
		return nil, err
	}
	in.closers = append(in.closers, func() { in.InternalListener.Close() })
	if cfg.Listener != nil || cfg.GRPCAddr != "" {
		if in.Listener, err = grpcx.Listen(cfg.Listener, cfg.GRPCAddr); err != nil {
			return nil, err
		}
		in.closers = append(in.closers, func() { in.Listener.Close() })
	}
	// What a person on call reads of the events: the outbox's backlog and
	// the consumers' (Settings.Registerer nil: nowhere).
	if err = outbox.RegisterMetrics(cfg.Registerer, in.DB, cfg.WithDefaults().Clock, svc.Name); err != nil {
		return nil, err
	}
	if err = inbox.RegisterMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	return in, nil
}

// CheckNATS refuses NATS names and stream replicas (0: the default) that
// settings built in code, not read by SettingsFromEnv, may carry; the
// error names the variable.
func CheckNATS(names natsx.Names, replicas int) error {
	if err := natsx.CheckPrefix(names.Prefix); err != nil {
		return fmt.Errorf("%s: %w", EnvNATSPrefix, err)
	}
	if replicas != 0 {
		if err := natsx.CheckReplicas(replicas); err != nil {
			return fmt.Errorf("%s: %w", EnvNATSReplicas, err)
		}
	}
	return nil
}

// Relay returns the relay of box, publishing to the deployment's subjects.
// Its count of events NATS lost (outbox.Relay.Lost) is the metric
// latchkey_outbox_lost_events_total.
func (in *Infra) Relay(box *outbox.Outbox, opts outbox.RelayOptions) *outbox.Relay {
	opts.Names = in.Names
	r := box.NewRelay(in.JS, opts)
	if in.registerer != nil {
		// A second relay of the service (none today) keeps the first's.
		_ = in.registerer.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "latchkey_outbox_lost_events_total",
			Help:        "Events JetStream had acknowledged and then lost (a failover), found by the outbox reconciler and published again.",
			ConstLabels: prometheus.Labels{"service": in.service},
		}, func() float64 { return float64(r.Lost()) }))
	}
	return r
}

// Consume runs the inbox consumer cfg on the deployment's stream and
// subjects (inbox.Run) until ctx ends.
func (in *Infra) Consume(ctx context.Context, cfg inbox.Config, h inbox.Handler) error {
	cfg.Names = in.Names
	return inbox.Run(ctx, in.JS, in.DB, cfg, h)
}

// API is what a service serves: its public services for the gateway, its
// internal ones for the other services, and who may call which internal
// method.
type API struct {
	// Public registers the public services (nil: the service has none).
	// Only the gateway may call them.
	Public func(grpc.ServiceRegistrar)
	// Internal registers the internal services.
	Internal func(grpc.ServiceRegistrar)
	// Callers names the services allowed to call each internal method; a
	// method it does not name is refused to everyone.
	Callers grpcx.Callers
	// Options are added to both servers (e.g. the authenticator's
	// interceptor).
	Options []grpc.ServerOption
}

// Gateway is the name in the gateway's certificate: the only caller of
// the public APIs.
const Gateway = "gateway"

// Serve serves api on in's listeners with cfg's identity until ctx ends,
// then stops both gracefully. Every call is mutual TLS; the public port
// admits the gateway alone, the internal port each method's callers.
//
// Both ports' gRPC health follows the readiness checks (every
// ReadinessInterval): "" and every service SERVING while the database and
// the required peers answer, readiness.SelfService while the database
// does. NATS does not count (the outbox rides an outage out); the
// management listener's /readyz reports it as degraded.
func (in *Infra) Serve(ctx context.Context, service string, cfg Settings, api API) error {
	g, gctx := errgroup.WithContext(ctx)
	log := cfg.Logger.With("service", service)
	hs := newHealth()
	g.Go(func() error { in.ready.Follow(gctx, ReadinessInterval, hs.set); return nil })
	if cfg.Management != nil {
		cfg.Management.Handle("GET /readyz", in.ready.Handler())
	}
	if api.Public != nil && in.Listener != nil {
		opts := grpcx.ServerOptions{Logger: log, Registerer: cfg.Registerer, Health: hs.Server}
		register := func(s *grpc.Server) { api.Public(s); hs.add(s) }
		if cfg.Identity != nil {
			opts.TLS = cfg.Identity.ServerTLS()
			// Every public method is the gateway's. The table is filled
			// once the services are registered, before the first call:
			// the interceptor holds the same map.
			opts.Callers = grpcx.Callers{}
			register = func(s *grpc.Server) {
				api.Public(s)
				for _, m := range grpcx.Methods(s) {
					opts.Callers[m] = []string{Gateway}
				}
				hs.add(s)
			}
		}
		g.Go(func() error { return grpcx.Run(gctx, in.Listener, "", opts, register, api.Options...) })
	}
	opts := grpcx.ServerOptions{Logger: log.With("port", "internal"), Registerer: cfg.Registerer, NoReflection: !cfg.InternalReflection, Health: hs.Server}
	if cfg.Identity != nil {
		opts.TLS = cfg.Identity.ServerTLS()
		opts.Callers = api.Callers
	}
	internal := func(s *grpc.Server) { api.Internal(s); hs.add(s) }
	g.Go(func() error { return grpcx.Run(gctx, in.InternalListener, "", opts, internal, api.Options...) })
	return g.Wait()
}

// ReadinessInterval is how often a service checks its dependencies to
// keep its gRPC health current.
const ReadinessInterval = time.Second

// serviceHealth is the gRPC health both of a service's ports serve, kept
// by its readiness reports.
type serviceHealth struct {
	*health.Server
	mu    sync.Mutex
	names []string // "" and every registered service
	last  readiness.Report
}

func newHealth() *serviceHealth {
	// Not serving until the first check says so.
	h := &serviceHealth{Server: health.NewServer(), names: []string{""},
		last: readiness.Report{Status: "unavailable", Failed: []string{checkDatabase}}}
	h.set(h.last)
	return h
}

// add takes in the services registered on s, with the current status.
func (h *serviceHealth) add(s *grpc.Server) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range s.GetServiceInfo() {
		h.names = append(h.names, name)
	}
	h.apply()
}

func (h *serviceHealth) set(r readiness.Report) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = r
	h.apply()
}

func (h *serviceHealth) apply() {
	status := func(ok bool) healthpb.HealthCheckResponse_ServingStatus {
		if ok {
			return healthpb.HealthCheckResponse_SERVING
		}
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	for _, name := range h.names {
		h.SetServingStatus(name, status(h.last.Ready()))
	}
	h.SetServingStatus(readiness.SelfService, status(h.last.Works(checkDatabase)))
}

// Dial connects to a peer's internal API as settings say (Settings.Dial);
// Close closes the connection with the rest.
func (in *Infra) Dial(settings Settings, peer, addr string) (*grpc.ClientConn, error) {
	c, err := settings.Dial(peer, addr)
	if err != nil {
		return nil, err
	}
	in.closers = append(in.closers, func() { c.Close() })
	return c, nil
}

// DialRequired is Dial for a peer the service cannot serve without: the
// service is ready only while the peer answers its health check and its
// own dependencies work (the peer's readiness.SelfService status, which
// leaves the peer's peers out). Keep required peers free of cycles: an
// orchestrator sends no traffic to a replica that is not ready, so two
// services requiring each other would never become ready.
func (in *Infra) DialRequired(settings Settings, peer, addr string) (*grpc.ClientConn, error) {
	c, err := in.Dial(settings, peer, addr)
	if err != nil {
		return nil, err
	}
	in.ready.Add(readiness.Check{Name: peer, Probe: readiness.Health(c, readiness.SelfService)})
	return c, nil
}

// Close closes what Open opened and Dial connected (not a shared NATS
// connection, nor the listener, which the gRPC server closes).
func (in *Infra) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
	in.closers = nil
}

// Migrate brings a service's database up to date: the outbox's and the
// inbox's tables, which every service has, then its own.
func Migrate(ctx context.Context, db dbx.DB, svc Service) error {
	if err := dbx.Migrate(ctx, db, "outbox", outbox.Migrations); err != nil {
		return err
	}
	if err := dbx.Migrate(ctx, db, "inbox", inbox.Migrations); err != nil {
		return err
	}
	if svc.Migrations == nil {
		return nil
	}
	return dbx.Migrate(ctx, db, svc.Name, svc.Migrations)
}

// MigrateOnly opens the service's database, brings its schema up to date
// and closes it: what `latchkey migrate` does before a rollout.
func MigrateOnly(ctx context.Context, svc Service, cfg Settings) error {
	db, err := dbx.Open(ctx, cfg.PostgresURL, cfg.DataDir, svc.Name)
	if err != nil {
		return err
	}
	defer db.Close()
	return Migrate(ctx, db, svc)
}
