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

// traceparents returns the traceparent stored with each of rows (sorted by
// seq) that has one, by seq. While tracing is off it asks nothing. A
// failed query costs the batch its traces, not its publishing.
func (r *Relay) traceparents(ctx context.Context, rows []pendingRow) map[int64]string {
	if len(rows) == 0 || !tracing.On() {
		return nil
	}
	res, err := r.o.db.Query(ctx, "SELECT seq, traceparent FROM outbox_events WHERE seq >= $1 AND seq <= $2 AND traceparent IS NOT NULL",
		rows[0].seq, rows[len(rows)-1].seq)
	if err != nil {
		r.opts.Logger.Warn("outbox relay: reading trace context failed", "err", err)
		return nil
	}
	defer res.Close()
	parents := map[int64]string{}
	for res.Next() {
		var seq int64
		var tp string
		if err := res.Scan(&seq, &tp); err != nil {
			r.opts.Logger.Warn("outbox relay: reading trace context failed", "err", err)
			return parents
		}
		parents[seq] = tp
	}
	return parents
}

// startPublishSpan starts the relay's span for publishing row, a child of
// the call that wrote it (traceparent, from traceparents), and puts the
// span's traceparent in msg's headers for the consumers. The span shows
// how long the event waited in the outbox; end it with endPublishSpan. A
// row written outside any trace (a background job's, or with tracing off)
// starts none: one new trace per event of a batch job would only be noise.
func startPublishSpan(ctx context.Context, traceparent string, row pendingRow, msg *nats.Msg) trace.Span {
	if traceparent == "" {
		return trace.SpanFromContext(context.Background()) // a no-op span
	}
	ctx, span := tracing.Tracer().Start(tracing.WithTraceparent(ctx, traceparent), "publish "+row.subject,
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
