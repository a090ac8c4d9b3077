package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

// loseStream stands for a NATS failover onto a replica that had not got
// the stream's messages: the stream comes back empty, remembering no ids.
func (f *fixture) loseStream(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cfg := f.stream.CachedInfo().Config
	if err := f.js.DeleteStream(ctx, cfg.Name); err != nil {
		t.Fatal(err)
	}
	s, err := f.js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.stream = s
}

// publishedAgo makes the row id look published d ago.
func (f *fixture) publishedAgo(t *testing.T, id string, d time.Duration) {
	t.Helper()
	if _, err := f.db.Exec(context.Background(), "UPDATE outbox_events SET published_at = $1 WHERE id = $2", clock.System{}.Now().Add(-d), id); err != nil {
		t.Fatal(err)
	}
}

func msgIDs(msgs []jetstream.RawStreamMsg) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		n[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	return n
}

// Events JetStream acknowledged and then lost are published again by the
// reconciler, once each; those it still has are dropped as duplicates; a
// row is checked once, and only inside JetStream's duplicate window.
func TestReconcile_RepublishesAcknowledgedEventsNATSLost(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := setup(t, db)
		relay := f.relay()
		var rows []string
		for i := range 5 {
			id := ids.New()
			rows = append(rows, id)
			f.write(t, id, string(rune('a'+i)))
		}
		if n, err := relay.PublishPending(ctx); err != nil || n != 5 {
			t.Fatalf("published %d: %v", n, err)
		}
		f.waitMessages(t, 5)

		// The stream loses everything but rows[0], which a client had
		// published again meanwhile.
		f.loseStream(t)
		if _, err := f.js.Publish(ctx, f.subject, []byte("a"), jetstream.WithMsgID(rows[0])); err != nil {
			t.Fatal(err)
		}
		for _, id := range rows[:3] {
			f.publishedAgo(t, id, time.Minute)
		}
		f.publishedAgo(t, rows[3], 5*time.Second)  // too fresh to check yet
		f.publishedAgo(t, rows[4], 10*time.Minute) // past the duplicate window

		checked, lost, err := relay.Reconcile(ctx)
		if err != nil || checked != 3 || lost != 2 {
			t.Fatalf("reconcile: checked %d, lost %d, %v; want 3 checked, 2 lost", checked, lost, err)
		}
		if got := msgIDs(f.waitMessages(t, 3)); got[rows[0]] != 1 || got[rows[1]] != 1 || got[rows[2]] != 1 {
			t.Fatalf("stream holds %v, want rows 0-2 once each", got)
		}
		if checked, _, err := relay.Reconcile(ctx); err != nil || checked != 0 {
			t.Fatalf("second reconcile checked %d (%v), want none: each row is checked once", checked, err)
		}

		// rows[3] comes of age.
		f.publishedAgo(t, rows[3], time.Minute)
		if checked, lost, err := relay.Reconcile(ctx); err != nil || checked != 1 || lost != 1 {
			t.Fatalf("reconcile: checked %d, lost %d, %v; want rows[3] checked and lost", checked, lost, err)
		}
		f.waitMessages(t, 4)
	})
}

// Run reconciles on its own and counts what was lost.
func TestRelayRun_ReconcilesPeriodically(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := setup(t, db)
		relay := f.box.NewRelay(f.js, outbox.RelayOptions{
			ReconcileEvery: 10 * time.Millisecond, Poll: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		done := make(chan error, 1)
		go func() { done <- relay.Run(ctx) }()
		id := ids.New()
		f.write(t, id, "x")
		waitPending(t, f.box, 0)
		f.loseStream(t)
		f.publishedAgo(t, id, time.Minute)
		testkit.Eventually(t, 10*time.Second, func() error {
			if relay.Lost() != 1 {
				return fmt.Errorf("lost %d, want 1", relay.Lost())
			}
			return nil
		})
		if got := msgIDs(f.waitMessages(t, 1)); got[id] != 1 {
			t.Fatalf("stream holds %v", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
