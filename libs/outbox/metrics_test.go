package outbox_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMetrics_BacklogAndAgeOfOldestPending(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		clk := clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
		box := outbox.New(db, clk, "billing")
		reg := prometheus.NewRegistry()
		if err := outbox.RegisterMetrics(reg, db, clk, "billing"); err != nil {
			t.Fatal(err)
		}
		relay := box.NewRelay(f.js, outbox.RelayOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		write := func() {
			t.Helper()
			err := db.InTx(context.Background(), func(tx dbx.Tx) error {
				return box.Write(context.Background(), tx, f.subject, ids.New(), wrapperspb.String("x"))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		want := func(pending, age float64) {
			t.Helper()
			expected := `
# HELP latchkey_outbox_oldest_pending_age_seconds Age of the oldest event not yet published to NATS (0 when none waits): how late subscribers are.
# TYPE latchkey_outbox_oldest_pending_age_seconds gauge
latchkey_outbox_oldest_pending_age_seconds{service="billing"} ` + ftoa(age) + `
# HELP latchkey_outbox_pending_events Events committed to the service's outbox and not yet published to NATS.
# TYPE latchkey_outbox_pending_events gauge
latchkey_outbox_pending_events{service="billing"} ` + ftoa(pending) + `
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(expected)); err != nil {
				t.Error(err)
			}
		}

		want(0, 0)
		write()
		clk.Advance(time.Minute)
		write()
		clk.Advance(30 * time.Second)
		want(2, 90) // the oldest waited a minute and a half
		if _, err := relay.PublishPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		want(0, 0)
	})
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestRelay_CarriesTheWritersTraceparentToNATS: the trace of the call that
// wrote an event goes on in the published message's headers, however
// much later the relay publishes it.
func TestRelay_CarriesTheWritersTraceparentToNATS(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
		spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
		ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
		}))
		err := db.InTx(ctx, func(tx dbx.Tx) error {
			return f.box.Write(ctx, tx, f.subject, ids.New(), wrapperspb.String("traced"))
		})
		if err != nil {
			t.Fatal(err)
		}
		f.write(t, ids.New(), "untraced") // written outside any trace
		if _, err := f.relay().PublishPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		msgs := f.waitMessages(t, 2)
		if got := msgs[0].Header.Get("traceparent"); !strings.HasPrefix(got, "00-"+traceID.String()+"-") {
			t.Errorf("traceparent of the traced event = %q, want one in trace %s", got, traceID)
		}
		if got := msgs[1].Header.Get("traceparent"); got != "" {
			t.Errorf("traceparent of the untraced event = %q, want none", got)
		}
	})
}
