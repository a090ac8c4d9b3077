package tracing

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderTraceparent is the W3C trace-context header, in NATS headers as in
// HTTP ones.
const HeaderTraceparent = "traceparent"

// On reports whether trace context is propagated (Start or Install ran):
// work that only serves tracing, such as reading stored trace context, is
// skipped while it is off.
func On() bool { return len(otel.GetTextMapPropagator().Fields()) > 0 }

// Traceparent returns the traceparent of ctx's span, to keep with work
// done later (an outbox row); "" when tracing is off or ctx has no span.
func Traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	return c[HeaderTraceparent]
}

// WithTraceparent returns ctx continuing the trace of traceparent (from
// Traceparent), or ctx itself when it is empty or tracing is off.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{HeaderTraceparent: traceparent})
}

// NATSHeader carries trace context in NATS message headers. It is needed
// because propagation.HeaderCarrier looks keys up the HTTP way
// (canonicalised, "Traceparent"), while NATS header keys are exact.
type NATSHeader nats.Header

// Get returns the first value of key.
func (h NATSHeader) Get(key string) string { return nats.Header(h).Get(key) }

// Set sets key to value.
func (h NATSHeader) Set(key, value string) { nats.Header(h).Set(key, value) }

// Keys lists the header keys.
func (h NATSHeader) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// InjectNATS puts ctx's trace context into the headers of msg.
func InjectNATS(ctx context.Context, msg *nats.Msg) {
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	otel.GetTextMapPropagator().Inject(ctx, NATSHeader(msg.Header))
}

// ExtractNATS returns ctx continuing the trace in h (a received message's
// headers).
func ExtractNATS(ctx context.Context, h nats.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, NATSHeader(h))
}
