package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/tracing"
)

func TestSettingsFromEnv(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		want    tracing.Settings
		invalid string
	}{
		{env: nil, want: tracing.Settings{SampleRatio: 1}},
		{env: map[string]string{"LATCHKEY_OTLP_ENDPOINT": "otel:4317", "LATCHKEY_OTLP_INSECURE": "true", "LATCHKEY_TRACE_SAMPLE_RATIO": "0.25"},
			want: tracing.Settings{Endpoint: "otel:4317", Insecure: true, SampleRatio: 0.25}},
		{env: map[string]string{"LATCHKEY_TRACE_SAMPLE_RATIO": "1.5"}, invalid: "LATCHKEY_TRACE_SAMPLE_RATIO"},
		{env: map[string]string{"LATCHKEY_TRACE_SAMPLE_RATIO": "half"}, invalid: "LATCHKEY_TRACE_SAMPLE_RATIO"},
		{env: map[string]string{"LATCHKEY_OTLP_ENDPOINT": "https://jaeger.example:4317"},
			want: tracing.Settings{Endpoint: "https://jaeger.example:4317", SampleRatio: 1}},
		{env: map[string]string{"LATCHKEY_OTLP_ENDPOINT": "jaeger"}, invalid: "LATCHKEY_OTLP_ENDPOINT"},
		{env: map[string]string{"LATCHKEY_OTLP_ENDPOINT": "grpc://jaeger:4317"}, invalid: "LATCHKEY_OTLP_ENDPOINT"},
	} {
		l := config.New(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		got := tracing.SettingsFromEnv(l)
		err := l.Err()
		switch {
		case c.invalid != "" && (err == nil || !strings.Contains(err.Error(), c.invalid)):
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.invalid)
		case c.invalid == "" && (err != nil || got != c.want):
			t.Errorf("%v: %+v, %v; want %+v", c.env, got, err, c.want)
		}
	}
}

// Off, Start leaves OpenTelemetry's no-op globals alone: nothing is
// recorded and no trace context travels.
func TestStart_NoEndpointChangesNothing(t *testing.T) {
	stop, err := tracing.Start(context.Background(), "test", tracing.Settings{SampleRatio: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_, span := otel.Tracer("t").Start(context.Background(), "x")
	defer span.End()
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("a span is recorded with tracing off")
	}
	if got := tracing.Traceparent(trace.ContextWithSpanContext(context.Background(), sampled())); got != "" {
		t.Errorf("traceparent %q propagated with tracing off", got)
	}
}

func sampled() trace.SpanContext {
	id, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	span, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: span, TraceFlags: trace.FlagsSampled})
}

// NATS header keys are exact, unlike HTTP's: the carrier writes and
// reads "traceparent" as such.
func TestNATSHeader_RoundTrip(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	msg := nats.NewMsg("s")
	tracing.InjectNATS(trace.ContextWithSpanContext(context.Background(), sampled()), msg)
	if got := msg.Header.Get("traceparent"); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent header %q", got)
	}
	if got := trace.SpanContextFromContext(tracing.ExtractNATS(context.Background(), msg.Header)); got.TraceID() != sampled().TraceID() || !got.IsRemote() {
		t.Errorf("extracted %v, want the injected trace, remote", got)
	}
	// And the outbox's way: kept as text, continued later.
	tp := tracing.Traceparent(trace.ContextWithSpanContext(context.Background(), sampled()))
	if got := trace.SpanContextFromContext(tracing.WithTraceparent(context.Background(), tp)); got.SpanID() != sampled().SpanID() {
		t.Errorf("continued %v from %q", got, tp)
	}
}
