package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

// metric finds the series of name with label consumer=durable (and
// outcome, when given) in reg.
func metric(reg *prometheus.Registry, name, durable, outcome string) (*dto.Metric, error) {
	families, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "consumer" && l.GetValue() != durable) || (l.GetName() == "outcome" && l.GetValue() != outcome) {
					continue series
				}
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("no %s{consumer=%q,outcome=%q} yet", name, durable, outcome)
}

func TestRun_ReportsBacklogAgeAndOutcomes(t *testing.T) {
	db := testkit.OpenMigrated(t, dbx.SQLite, "svc", migrate)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := testkit.NATS(t)
	prefix := testkit.UniquePrefix(t)
	stream := testkit.StreamName(t, "INBOX")
	n.Stream(t, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}})
	js := n.JetStream(t)
	for _, id := range []string{"ev-ok", "ev-bad", "ev-retry"} {
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: prefix + ".thing", Data: []byte(id)}, jetstream.WithMsgID(id)); err != nil {
			t.Fatal(err)
		}
	}

	// The first event waits until the test has read the backlog: until
	// then nothing is acknowledged, so all three are pending or in hand.
	release := make(chan struct{})
	var once sync.Once
	retried := false
	handler := func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		once.Do(func() { <-release })
		switch id := string(msg.Data()); {
		case id == "ev-bad":
			return inbox.Permanent(errors.New("cannot decode"))
		case id == "ev-retry" && !retried:
			retried = true
			return errors.New("transient")
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	if err := inbox.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	durable := testkit.StreamName(t, "consumer")
	go func() {
		_ = inbox.Run(ctx, js, db, inbox.Config{
			Stream: stream, Durable: durable, FilterSubject: prefix + ".>",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, handler)
	}()

	testkit.Eventually(t, 10*time.Second, func() error {
		pending, err := metric(reg, "latchkey_inbox_pending_messages", durable, "")
		if err != nil {
			return err
		}
		unacked, err := metric(reg, "latchkey_inbox_unacknowledged_messages", durable, "")
		if err != nil {
			return err
		}
		if got := pending.GetGauge().GetValue() + unacked.GetGauge().GetValue(); got != 3 {
			t.Errorf("backlog: %v pending + %v unacknowledged, want 3 in all", pending.GetGauge().GetValue(), unacked.GetGauge().GetValue())
		}
		return nil
	})
	close(release)

	testkit.Eventually(t, 15*time.Second, func() error {
		for outcome, want := range map[string]float64{"ok": 2, "dropped": 1, "retry": 1} {
			m, err := metric(reg, "latchkey_inbox_events_handled_total", durable, outcome)
			if err != nil {
				return err
			}
			if got := m.GetCounter().GetValue(); got != want {
				return fmt.Errorf("%s: %v events, want %v", outcome, got, want)
			}
		}
		return nil
	})
	age, err := metric(reg, "latchkey_inbox_event_age_seconds", durable, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := age.GetHistogram().GetSampleCount(); got != 4 { // the retried event twice
		t.Errorf("event ages observed %d times, want 4", got)
	}
}
