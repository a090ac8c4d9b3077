package outbox_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

// latencyRate is how many changes a second the latency benchmark commits:
// the rate issue 14's target is stated at.
const latencyRate = 200

// BenchmarkCommitToConsumer measures the time from the commit of a change
// to an inbox consumer handling its event, at latencyRate changes a second
// (one event each): the relay woken by the commit, publishing to
// JetStream, the consumer's pull and its own transaction. The consumer has
// a database of its own, as a service consuming another's events does.
// Run it with -benchtime 1000x (b.N events, at 200 a second); NATS is
// LATCHKEY_TEST_NATS_URL's or an embedded one.
func BenchmarkCommitToConsumer(b *testing.B) {
	testkit.EachDialect(b, "producer", func(b *testing.B, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := dbx.Migrate(ctx, db, "outbox", outbox.Migrations); err != nil {
			b.Fatal(err)
		}
		consumerDB := testkit.Open(b, db.Dialect(), "consumer")
		if err := dbx.Migrate(ctx, consumerDB, "inbox", inbox.Migrations); err != nil {
			b.Fatal(err)
		}
		n := testkit.NATS(b)
		prefix := testkit.UniquePrefix(b)
		stream := testkit.StreamName(b, "LATENCY")
		n.Stream(b, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}, Duplicates: 2 * time.Minute})
		js := n.JetStream(b)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		box := outbox.New(db, clock.System{}, "bench")

		// An event's commit and its arrival are noted by its id, in
		// whichever order they come (a relay in another goroutine can be
		// quicker than the committer's AfterCommit).
		var (
			mu        sync.Mutex
			seen      = map[string]time.Time{}
			latencies []time.Duration
			done      = make(chan struct{})
		)
		note := func(id string, committed bool) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			other, ok := seen[id]
			if !ok {
				seen[id] = now
				return
			}
			delete(seen, id)
			d := now.Sub(other) // arrival after commit
			if committed {
				d = max(0, other.Sub(now)) // arrival noted first
			}
			if latencies = append(latencies, d); len(latencies) == b.N {
				close(done)
			}
		}
		warm, warmed := ids.New(), make(chan struct{})
		handled := func(_ context.Context, _ dbx.Tx, msg jetstream.Msg) error {
			if id := msg.Headers().Get(jetstream.MsgIDHeader); id == warm {
				close(warmed)
			} else {
				note(id, false)
			}
			return nil
		}
		commit := func(id string, after func()) {
			err := db.InTx(ctx, func(tx dbx.Tx) error {
				// Registered first, so it runs first once committed.
				tx.AfterCommit(after)
				return box.Write(ctx, tx, prefix+".thing.changed", id, wrapperspb.String(id))
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() {
			_ = box.NewRelay(js, outbox.RelayOptions{Logger: quiet}).Run(ctx)
		})
		wg.Go(func() {
			_ = inbox.Run(ctx, js, consumerDB, inbox.Config{
				Stream: stream, Durable: "bench", FilterSubject: prefix + ".>", Logger: quiet,
			}, handled)
		})

		// One event through before timing: the consumer exists and the
		// connections are open.
		commit(warm, func() {})
		select {
		case <-warmed:
		case <-time.After(time.Minute):
			b.Fatal("the first event did not reach the consumer")
		}
		b.ResetTimer()
		tick := time.NewTicker(time.Second / latencyRate)
		defer tick.Stop()
		for range b.N {
			<-tick.C
			id := ids.New()
			commit(id, func() { note(id, true) })
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			mu.Lock()
			b.Fatalf("%d of %d events reached the consumer", len(latencies), b.N)
		}
		b.StopTimer()
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(latencies)
		at := func(q float64) float64 {
			return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]) / float64(time.Millisecond)
		}
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
		b.ReportMetric(at(1), "max-ms")
		b.ReportMetric(0, "ns/op") // the rate is fixed: time per event says nothing
	})
}
