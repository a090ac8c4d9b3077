// Package grpcx builds the gRPC servers and client connections every
// Latchkey service uses, so that recovery, metrics, logging, error
// sanitizing, health, reflection, retries and graceful shutdown behave the
// same everywhere.
//
// Logging follows logx's rule: a client call has one access line, at the
// edge (the gateway, at AccessLevel); a server built here sits behind the
// edge and logs each call it answers at HopLevel — DEBUG unless the
// trouble is its own (WARN for Unavailable or its own deadline, ERROR with
// the hidden detail for Internal, Unknown and DataLoss).
package grpcx

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/latchkey/latchkey/libs/tracing"
)

// DefaultShutdownTimeout bounds how long Serve waits for in-flight calls
// after its context is cancelled; Kubernetes sends SIGKILL 30s after
// SIGTERM by default, so this leaves room for the rest of the shutdown.
const DefaultShutdownTimeout = 10 * time.Second

// StreamWorkers is the server option that answers calls on a pool of
// goroutines kept from one call to the next, streamWorkersPerCore per
// core, instead of a new goroutine per call. A call through the
// interceptors, the handler and pgx grows a new goroutine's stack several
// times: runtime.copystack took 6.7 % of the all-in-one suite's CPU under
// GET /v1/me on PostgreSQL, and a worker keeps its grown stack (gRPC
// replaces it after 65 536 calls, so a rare deep call does not pin
// memory). A call that finds every worker busy gets its own goroutine as
// before: the pool never makes a call wait.
func StreamWorkers() grpc.ServerOption {
	return grpc.NumStreamWorkers(uint32(streamWorkersPerCore * runtime.GOMAXPROCS(0)))
}

// streamWorkersPerCore covers the calls a service has in flight while
// most of them wait on the database or a peer.
const streamWorkersPerCore = 8

// ServerOptions configures NewServer. The zero value is usable.
type ServerOptions struct {
	// Logger receives one line per call (at HopLevel), panics and hidden
	// internal errors;
	// nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the grpc_server_* metrics; nil means no metrics.
	// Several servers may share one Registerer: they share the series,
	// which carry the service name as a label.
	Registerer prometheus.Registerer
	// ShutdownTimeout bounds the graceful stop in Serve; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// TLS, when set, serves over TLS with it (mtls.Identity.ServerTLS:
	// every caller shows a service certificate). Nil serves plaintext,
	// which only tests do.
	TLS *tls.Config
	// Callers, when set, admits each method only from the services it
	// names (internal ports); it needs TLS.
	Callers Callers
	// NoReflection leaves the reflection service out (internal ports,
	// unless asked for).
	NoReflection bool
	// Limits bound message sizes and concurrent calls; the zero value is
	// the defaults (LimitOptions).
	Limits Limits
	// Health, when set, is the health service to serve, shared with other
	// servers of the process and kept by its owner, who says when the
	// process is serving (infra: from its readiness checks); Run then
	// leaves the statuses alone. Nil: the server's own, SERVING once Run
	// has registered the services.
	Health *health.Server
}

// Server is a gRPC server with Latchkey's interceptors, health checking
// and reflection already installed.
type Server struct {
	grpc            *grpc.Server
	health          *health.Server
	metrics         *grpcprom.ServerMetrics
	log             *slog.Logger
	shutdownTimeout time.Duration
}

// NewServer builds a server. The interceptor chain, outermost first:
//
//  1. panic recovery — a panic anywhere below becomes Internal;
//  2. Prometheus metrics (when opts.Registerer is set);
//  3. logging — one line per call at HopLevel (DEBUG for OK and client
//     errors), never bodies;
//  4. error sanitizing — only gRPC statuses (and so *errs.Error) reach the
//     client; other errors become Internal "internal error";
//  5. panic recovery again, right around the handler, so a handler panic
//     is counted and logged as Internal like any other failure (the outer
//     one only guards the interceptors themselves).
//
// Interceptors passed in extra (grpc.ChainUnaryInterceptor) run inside
// these, just before the handler. It panics, like prometheus.MustRegister,
// if opts.Registerer already holds different metrics under the same names.
func NewServer(opts ServerOptions, extra ...grpc.ServerOption) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		health:          opts.Health,
		log:             log,
		shutdownTimeout: opts.ShutdownTimeout,
	}
	if s.shutdownTimeout <= 0 {
		s.shutdownTimeout = DefaultShutdownTimeout
	}
	if s.health == nil {
		s.health = health.NewServer()
	}

	rec := recoveryOption(log)
	unary := []grpc.UnaryServerInterceptor{recovery.UnaryServerInterceptor(rec)}
	stream := []grpc.StreamServerInterceptor{recovery.StreamServerInterceptor(rec)}
	if opts.Registerer != nil {
		m, err := register(opts.Registerer, grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()))
		if err != nil {
			panic(fmt.Sprintf("grpcx: registering server metrics: %v", err))
		}
		s.metrics = m
		unary = append(unary, m.UnaryServerInterceptor())
		stream = append(stream, m.StreamServerInterceptor())
	}
	unary = append(unary, unaryLogging(log), unarySanitizer(log))
	stream = append(stream, streamLogging(log), streamSanitizer(log))
	if opts.Callers != nil {
		unary = append(unary, opts.Callers.UnaryInterceptor())
		stream = append(stream, opts.Callers.StreamInterceptor())
	}
	unary = append(unary, recovery.UnaryServerInterceptor(rec))
	stream = append(stream, recovery.StreamServerInterceptor(rec))

	serverOpts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		StreamWorkers(),
	}, LimitOptions(opts.Limits)...)
	// A server span per call, continuing the caller's traceparent
	// (nothing while tracing is off).
	serverOpts = append(serverOpts, tracing.ServerOptions()...)
	serverOpts = append(serverOpts, extra...)
	if opts.TLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.grpc = grpc.NewServer(serverOpts...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if !opts.NoReflection {
		reflection.Register(s.grpc)
	}
	return s
}

// MaxConnectionAge is how long a client connection lives before the server
// asks the client to reconnect (gracefully: calls in flight finish).
const MaxConnectionAge = 5 * time.Minute

// GRPC returns the underlying server, for registering services.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health returns the health service. The overall status ("") starts as
// SERVING; set per-service statuses with SetServingStatus, e.g. NOT_SERVING
// while a dependency is down. Serve sets everything to NOT_SERVING when it
// begins to shut down.
func (s *Server) Health() *health.Server { return s.health }

// Serve serves on lis until ctx is cancelled or serving fails. On
// cancellation it marks every service NOT_SERVING, so load balancers and
// health-checking clients move away, then stops gracefully, letting
// in-flight calls finish for up to the shutdown timeout before cutting
// them off; it returns nil once stopped. Long-lived streams, including
// health Watch streams that clients keep open, hold a graceful stop until
// that timeout. A Server serves once.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	if s.metrics != nil {
		// Zero-valued series for every method, so rates and alerts work
		// before the first call.
		s.metrics.InitializeMetrics(s.grpc)
	}
	served := make(chan error, 1)
	go func() { served <- s.grpc.Serve(lis) }()

	select {
	case err := <-served:
		s.health.Shutdown()
		s.grpc.Stop()
		return fmt.Errorf("grpc serve: %w", err)
	case <-ctx.Done():
	}

	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(s.shutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Warn("grpc graceful stop timed out; closing remaining calls", "timeout", s.shutdownTimeout)
		s.grpc.Stop()
		<-stopped
	}
	<-served
	return nil
}
