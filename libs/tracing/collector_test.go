package tracing_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace/noop"
	collectorv1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/tracing"
)

// collector is an OTLP/gRPC trace receiver, as a Jaeger or an
// OpenTelemetry Collector would be, noting what it got.
type collector struct {
	collectorv1.UnimplementedTraceServiceServer
	mu       sync.Mutex
	services []string
	spans    []string
}

func (c *collector) Export(_ context.Context, req *collectorv1.ExportTraceServiceRequest) (*collectorv1.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				c.services = append(c.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, s.GetName())
			}
		}
	}
	return &collectorv1.ExportTraceServiceResponse{}, nil
}

// TestStart_SendsSpansToTheCollector: with an endpoint, spans reach an
// OTLP collector under the binary's name, at the latest when stopping.
func TestStart_SendsSpansToTheCollector(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	collectorv1.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	t.Cleanup(func() { // the other tests expect tracing off
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	stop, err := tracing.Start(context.Background(), "accountd", tracing.Settings{Endpoint: lis.Addr().String(), Insecure: true, SampleRatio: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tracing.Tracer().Start(context.Background(), "the call")
	span.End()
	stop()

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != 1 || c.spans[0] != "the call" || len(c.services) != 1 || c.services[0] != "accountd" {
		t.Errorf("collector got spans %v of services %v, want [the call] of [accountd]", c.spans, c.services)
	}
}
