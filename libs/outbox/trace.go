package outbox

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/libs/tracing"
)

// traceparentOf is what an event row keeps of the trace that wrote it:
// the traceparent of ctx, or NULL when there is none (tracing off).
func traceparentOf(ctx context.Context) any {
	if tp := tracing.Traceparent(ctx); tp != "" {
		return tp
	}
	return nil
}

// startPublishSpan starts the relay's span for publishing row, a child of
// the call that wrote it, and puts the span's traceparent in msg's
// headers for the consumers. The span shows how long the event waited in
// the outbox; end it with endPublishSpan. A row written outside any
// trace (a background job's, or with tracing off) starts none: one new
// trace per event of a batch job would only be noise.
func startPublishSpan(ctx context.Context, row pendingRow, msg *nats.Msg) trace.Span {
	if row.traceparent == "" {
		return trace.SpanFromContext(context.Background()) // a no-op span
	}
	ctx, span := tracing.Tracer().Start(tracing.WithTraceparent(ctx, row.traceparent), "publish "+row.subject,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", row.subject),
			attribute.String("messaging.message.id", row.id)))
	tracing.InjectNATS(ctx, msg)
	return span
}

// endPublishSpan ends span with the publish's error, if any.
func endPublishSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	span.End()
}
