package inbox

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/promx"
	"github.com/latchkey/latchkey/libs/tracing"
)

// This file holds what an on-call person sees of a consumer: a span per
// event, continuing the publisher's trace from the traceparent header,
// and the consumer's lag as metrics.

// traced handles each event inside a consumer span, a child of the span
// that published it (the outbox relay's), so one trace runs from the call
// that made the change to every consumer of its event.
func traced(durable string, h Handler) Handler {
	tracer := tracing.Tracer()
	return func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		ctx, span := tracer.Start(tracing.ExtractNATS(ctx, msg.Headers()), "process "+msg.Subject(),
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
				attribute.String("messaging.system", "nats"),
				attribute.String("messaging.destination.name", msg.Subject()),
				attribute.String("messaging.consumer.group.name", durable),
				attribute.String("messaging.message.id", msg.Headers().Get(jetstream.MsgIDHeader))))
		defer span.End()
		err := h(ctx, tx, msg)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "handler failed")
		}
		return err
	}
}

// lagPollInterval is how often a consumer's backlog is asked of NATS.
const lagPollInterval = 15 * time.Second

// metrics are the consumers' lag and outcomes, told apart by the consumer
// label. They are the package's, like the prometheus client's defaults,
// so that a consumer records them without being handed a registry: a
// process puts them on its own with RegisterMetrics (infra.Open does).
var metrics = struct {
	pending, unacked *prometheus.GaugeVec
	age              *prometheus.HistogramVec
	handled          *prometheus.CounterVec
	// registered: the backlog is asked of NATS only when someone reads it.
	registered atomic.Bool
}{
	pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "latchkey_inbox_pending_messages",
		Help: "Events on the stream that the durable consumer has not been given yet (its backlog), asked of NATS every 15s.",
	}, []string{"consumer"}),
	unacked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "latchkey_inbox_unacknowledged_messages",
		Help: "Events given to the durable consumer and not acknowledged yet (in progress or waiting for redelivery), asked of NATS every 15s.",
	}, []string{"consumer"}),
	age: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "latchkey_inbox_event_age_seconds",
		Help:    "Time from an event's arrival on the stream to its handling by the consumer (delivery lag, retries included).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"consumer"}),
	handled: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_inbox_events_handled_total",
		Help: "Events handled by the consumer, by outcome: ok, retry (the handler failed; redelivered later) or dropped (a permanent failure).",
	}, []string{"consumer", "outcome"}),
}

// RegisterMetrics puts the consumers' metrics on r (nil: nowhere); every
// consumer of the process reports there. Registering again, on the same
// registry or another, is harmless.
func RegisterMetrics(r prometheus.Registerer) error {
	if r == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{metrics.pending, metrics.unacked, metrics.age, metrics.handled} {
		if _, err := promx.Register(r, c); err != nil {
			return err
		}
	}
	metrics.registered.Store(true)
	return nil
}

// meter records, for each event a handler ran on, its age and its
// outcome: once the outcome is known (its transaction committed or
// failed), so a handler run in a batch that rolled back and then again on
// its own counts once.
type meter struct {
	clock    clock.Clock
	age      prometheus.Observer
	outcomes map[string]prometheus.Counter
}

func newMeter(cfg Config) *meter {
	m := &meter{clock: cfg.Clock, age: metrics.age.WithLabelValues(cfg.Durable), outcomes: map[string]prometheus.Counter{}}
	for _, o := range []string{"ok", "retry", "dropped"} {
		m.outcomes[o] = metrics.handled.WithLabelValues(cfg.Durable, o)
	}
	return m
}

// handled records msg's age and the outcome err of its handling.
func (m *meter) handled(msg jetstream.Msg, err error) {
	if md, mdErr := msg.Metadata(); mdErr == nil {
		m.age.Observe(max(0, m.clock.Now().Sub(md.Timestamp).Seconds()))
	}
	var perm *PermanentError
	switch {
	case err == nil:
		m.outcomes["ok"].Inc()
	case errors.As(err, &perm):
		m.outcomes["dropped"].Inc()
	default:
		m.outcomes["retry"].Inc()
	}
}

// watchLag asks NATS for the consumer's backlog now and every
// lagPollInterval until ctx ends. A failed ask (NATS down) leaves the last
// values: the outbox and the consumer ride out the outage. It asks
// nothing while the metrics are on no registry.
func watchLag(ctx context.Context, cons jetstream.Consumer, durable string) {
	tick := time.NewTicker(lagPollInterval)
	defer tick.Stop()
	for {
		if metrics.registered.Load() {
			observeLag(ctx, cons, durable)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func observeLag(ctx context.Context, cons jetstream.Consumer, durable string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		return
	}
	metrics.pending.WithLabelValues(durable).Set(float64(info.NumPending))
	metrics.unacked.WithLabelValues(durable).Set(float64(info.NumAckPending))
}
