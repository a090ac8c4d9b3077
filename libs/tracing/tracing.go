// Package tracing sets up OpenTelemetry tracing for a Latchkey binary and
// carries a trace across what the instrumentation libraries do not cover:
// the outbox's rows and NATS message headers.
//
// Tracing is off unless LATCHKEY_OTLP_ENDPOINT is set. Off, Start leaves
// OpenTelemetry's global no-op provider and no-op propagator in place, so
// the instrumented code paths (gRPC stats handlers, the gateway's server
// span, the outbox and the inbox) create no recording spans and carry no
// trace context. On, spans go in batches to an OTLP/gRPC collector (an
// OpenTelemetry Collector, Jaeger, Tempo...) and the W3C `traceparent`
// is propagated in gRPC metadata, HTTP and NATS headers.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/config"
)

// The variables of the tracing settings.
const (
	EnvEndpoint    = "LATCHKEY_OTLP_ENDPOINT"
	EnvInsecure    = "LATCHKEY_OTLP_INSECURE"
	EnvSampleRatio = "LATCHKEY_TRACE_SAMPLE_RATIO"
)

// flushTimeout bounds how long stopping waits for the collector.
const flushTimeout = 5 * time.Second

// Settings say where traces go.
type Settings struct {
	// Endpoint is the OTLP/gRPC collector, host:port or a URL
	// (http://host:4317 is plaintext, https://host:4317 TLS); empty: off.
	Endpoint string
	// Insecure sends plaintext to a host:port Endpoint (a collector
	// beside the process); otherwise TLS with the system's roots.
	Insecure bool
	// SampleRatio is the share of new traces recorded, 0 to 1. A trace
	// already sampled or not by its caller (a client's traceparent, an
	// upstream service) keeps that decision, so a trace is never cut in
	// the middle.
	SampleRatio float64
}

// SettingsFromEnv reads the tracing settings.
func SettingsFromEnv(l *config.Loader) Settings {
	s := Settings{
		Endpoint: l.String(EnvEndpoint, "", "OpenTelemetry traces: OTLP/gRPC collector to send spans to, host:port or http(s)://host:port (e.g. a Jaeger all-in-one's 4317); empty: tracing off"),
		Insecure: l.Bool(EnvInsecure, false, "OpenTelemetry traces: send to a host:port LATCHKEY_OTLP_ENDPOINT in plaintext instead of TLS (a collector on the same host or pod)"),
	}
	if err := checkEndpoint(s.Endpoint); err != nil {
		l.Invalid(EnvEndpoint, err)
	}
	ratio := l.String(EnvSampleRatio, "1", "OpenTelemetry traces: share of new traces recorded, 0 to 1 (a request arriving with a traceparent keeps its caller's decision)")
	r, err := strconv.ParseFloat(strings.TrimSpace(ratio), 64)
	switch {
	case err != nil:
		l.Invalid(EnvSampleRatio, fmt.Errorf("%q is not a number", ratio))
		r = 1
	case r < 0 || r > 1:
		l.Invalid(EnvSampleRatio, fmt.Errorf("must be between 0 and 1, got %v", r))
		r = 1
	}
	s.SampleRatio = r
	return s
}

// checkEndpoint refuses an endpoint the exporter would not understand,
// so the mistake stops the start rather than every export.
func checkEndpoint(e string) error {
	if e == "" {
		return nil
	}
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http:// or https:// URL with a host", e)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(e); err != nil {
		return fmt.Errorf("%q is not host:port or a URL", e)
	}
	return nil
}

// Start installs the global tracer provider and the W3C trace-context
// propagator when s.Endpoint is set, naming the process service (the
// binary's name, resource attribute service.name). stop sends the spans
// still buffered (the last calls') within flushTimeout and stops; call it
// on the way out. With no endpoint, Start changes nothing and stop does
// nothing.
func Start(ctx context.Context, service string, s Settings, log *slog.Logger) (stop func(), err error) {
	if s.Endpoint == "" {
		return func() {}, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(s.Endpoint)}
	if strings.Contains(s.Endpoint, "://") {
		opts = []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(s.Endpoint)}
	} else if s.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	// New does not wait for the collector: a collector that is down costs
	// dropped spans and a logged error, never a service that cannot start.
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvEndpoint, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(s.SampleRatio))),
	)
	Install(tp)
	if log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("tracing: export failed", "err", err)
		}))
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		_ = tp.Shutdown(ctx)
	}, nil
}

// Install makes tp the global tracer provider and W3C trace context the
// global propagator: what Start does, and what tests do with an in-memory
// exporter. Servers and connections made after it carry spans
// (ServerOptions, DialOptions).
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	installed.Store(true)
}

// installed is whether Install ran. Until it has, the gRPC stats handlers
// are left out altogether: with OpenTelemetry's no-op globals they record
// nothing, yet cost every call a few allocations and about 4 % of an
// authenticated read's CPU (issue 14's profiles).
var installed atomic.Bool

// ServerOptions are the gRPC server side of tracing, empty while tracing
// is off: a server span per call, continuing the caller's traceparent from
// the metadata. Health checks, which probes and balancers make every few
// seconds, are left out.
func ServerOptions() []grpc.ServerOption {
	if !installed.Load() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck()))))}
}

// DialOptions are the gRPC client side of tracing, empty while tracing is
// off: a client span per call whose traceparent goes out in the metadata.
func DialOptions() []grpc.DialOption {
	if !installed.Load() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck()))))}
}

// Tracer is the tracer of Latchkey's own spans (the gateway's REST span,
// the outbox relay's and the inbox's).
func Tracer() trace.Tracer {
	return otel.Tracer("github.com/latchkey/latchkey")
}
