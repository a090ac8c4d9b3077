package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func migrate(ctx context.Context, db dbx.DB) error {
	return dbx.Migrate(ctx, db, "inbox", inbox.Migrations)
}

const counterTable = `CREATE TABLE counts (event_id TEXT NOT NULL, n INTEGER NOT NULL)`

func TestRun_RedeliveredEventIsHandledOnce_FailedHandlerRetried(t *testing.T) {
	testkit.EachMigratedDialect(t, "svc", migrate, func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := db.Exec(ctx, counterTable); err != nil {
			t.Fatal(err)
		}
		n := testkit.NATS(t)
		prefix := testkit.UniquePrefix(t)
		stream := testkit.StreamName(t, "INBOX")
		// A short duplicate window lets the test store the same event id
		// twice, as a relay republishing after the window would.
		n.Stream(t, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}, Duplicates: 200 * time.Millisecond})
		js := n.JetStream(t)
		publish := func(id string) (duplicate bool) {
			t.Helper()
			m := &nats.Msg{Subject: prefix + ".thing.happened", Data: []byte(id), Header: nats.Header{}}
			ack, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(id))
			if err != nil {
				t.Fatal(err)
			}
			return ack.Duplicate
		}
		publish("ev-1")
		// Once the duplicate window has passed, the same id is stored
		// again: a redelivery to the consumer. Copies within the window
		// are dropped, so trying until one is stored adds exactly one.
		testkit.Eventually(t, 10*time.Second, func() error {
			if publish("ev-1") {
				return errors.New("the second ev-1 is still inside the duplicate window")
			}
			return nil
		})
		publish("ev-fails-once")
		publish("ev-2")

		var failed atomic.Bool
		var calls atomic.Int32
		handler := func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
			calls.Add(1)
			id := string(msg.Data())
			if _, err := tx.Exec(ctx, "INSERT INTO counts (event_id, n) VALUES ($1, 1)", id); err != nil {
				return err
			}
			if id == "ev-fails-once" && !failed.Swap(true) {
				return errors.New("transient") // its insert must roll back too
			}
			return nil
		}
		done := make(chan error, 1)
		go func() {
			done <- inbox.Run(ctx, js, db, inbox.Config{
				Stream: stream, Durable: "test", FilterSubject: prefix + ".>",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, handler)
		}()
		// Done when the consumer has every message handled and acknowledged
		// (the skipped duplicate too); then nothing more can come.
		testkit.Eventually(t, 15*time.Second, func() error {
			info, err := js.Consumer(ctx, stream, "test")
			if err != nil {
				return err
			}
			ci, err := info.Info(ctx)
			if err != nil {
				return err
			}
			if ci.NumPending != 0 || ci.NumAckPending != 0 || ci.Delivered.Stream != 4 { // ev-1 twice, ev-fails-once, ev-2
				return fmt.Errorf("consumer at stream seq %d, %d pending, %d unacknowledged", ci.Delivered.Stream, ci.NumPending, ci.NumAckPending)
			}
			return nil
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"ev-1", "ev-2", "ev-fails-once"} {
			var c int
			if err := db.QueryRow(context.Background(), "SELECT count(*) FROM counts WHERE event_id = $1", id).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c != 1 {
				t.Errorf("%s applied %d times, want 1", id, c)
			}
		}
		// The duplicate was skipped and the failure retried; how many
		// calls that took depends on how the events were batched.
		if got := calls.Load(); got < 3 {
			t.Errorf("handler called %d times, want at least 3", got)
		}
	})
}

// A consumer behind its stream catches up in few transactions, each
// event applied once; events it handled before (their ids recorded, as
// after a crash before the acks) are skipped inside the batches; an event
// that fails in a batch rolls the batch back, and every event of it is
// then handled on its own, once.
func TestRun_BacklogIsHandledInBatches(t *testing.T) {
	testkit.EachMigratedDialect(t, "svc", migrate, func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		js, prefix, stream := countedStream(t, db, "BATCH")
		const events = 300
		for i := range events {
			id := fmt.Sprintf("ev-%03d", i)
			if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: prefix + ".thing.happened", Data: []byte(id), Header: nats.Header{}}, jetstream.WithMsgID(id)); err != nil {
				t.Fatal(err)
			}
		}
		const before = 10 // ev-020 … ev-029 were handled before
		for i := 20; i < 20+before; i++ {
			if _, err := db.Exec(ctx, "INSERT INTO inbox_processed (consumer, event_id, processed_at) VALUES ($1, $2, $3)",
				"batch", fmt.Sprintf("ev-%03d", i), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			txs     = map[dbx.Tx]bool{} // every transaction a handler ran in, kept so none is reused
			failed  atomic.Bool
			handled atomic.Int32
		)
		handler := func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
			mu.Lock()
			txs[tx] = true
			mu.Unlock()
			id := string(msg.Data())
			if _, err := tx.Exec(ctx, "INSERT INTO counts (event_id, n) VALUES ($1, 1)", id); err != nil {
				return err
			}
			if id == "ev-150" && !failed.Swap(true) {
				return errors.New("transient")
			}
			tx.AfterCommit(func() { handled.Add(1) })
			return nil
		}
		done := make(chan error, 1)
		go func() {
			done <- inbox.Run(ctx, js, db, inbox.Config{
				Stream: stream, Durable: "batch", FilterSubject: prefix + ".>",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, handler)
		}()
		testkit.Eventually(t, 30*time.Second, func() error {
			if h := handled.Load(); h != events-before {
				return fmt.Errorf("%d of %d events handled", h, events-before)
			}
			return nil
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		appliedOnceEach(t, db, events-before)
		var seenAgain int
		if err := db.QueryRow(context.Background(), "SELECT count(*) FROM counts WHERE event_id >= 'ev-020' AND event_id < 'ev-030'").Scan(&seenAgain); err != nil {
			t.Fatal(err)
		}
		if seenAgain != 0 {
			t.Fatalf("%d events handled before were handled again", seenAgain)
		}
		if len(txs) > events/2 {
			t.Errorf("%d events took %d transactions: not batched", events, len(txs))
		}
		t.Logf("%d events in %d transactions", events, len(txs))
	})
}

func TestPrune_ForgetsOnlyOldIDsOfTheConsumer(t *testing.T) {
	testkit.EachMigratedDialect(t, "svc", migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		old, recent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
		for _, r := range []struct {
			consumer, id string
			at           time.Time
		}{{"a", "old", old}, {"a", "recent", recent}, {"b", "old", old}} {
			if _, err := db.Exec(ctx, "INSERT INTO inbox_processed (consumer, event_id, processed_at) VALUES ($1, $2, $3)", r.consumer, r.id, r.at); err != nil {
				t.Fatal(err)
			}
		}
		if err := inbox.Prune(ctx, db, "a", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM inbox_processed").Scan(&n); err != nil || n != 2 {
			t.Fatalf("rows left = %d (%v), want 2 (a/recent and b/old)", n, err)
		}
	})
}

// A consumer stopped while its handler runs (a shutdown, a rolling
// restart) logs no warning for what it did not finish, and the next
// consumer handles each of those events once, after the ack wait.
func TestRun_StoppedMidEvent_NoWarning_EventsHandledOnceAfter(t *testing.T) {
	testkit.EachMigratedDialect(t, "svc", migrate, func(t *testing.T, db dbx.DB) {
		js, prefix, stream := countedStream(t, db, "STOP")
		const events = 3 // delivered together: one batch
		for i := range events {
			id := fmt.Sprintf("ev-%d", i)
			if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: prefix + ".thing.happened", Data: []byte(id), Header: nats.Header{}}, jetstream.WithMsgID(id)); err != nil {
				t.Fatal(err)
			}
		}
		var logged syncBuffer
		run := func(ctx context.Context, h inbox.Handler) chan error {
			done := make(chan error, 1)
			go func() {
				done <- inbox.Run(ctx, js, db, inbox.Config{
					Stream: stream, Durable: "stop", FilterSubject: prefix + ".>", AckWait: 2 * time.Second,
					Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn})),
				}, h)
			}()
			return done
		}

		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{}, events)
		done := run(ctx, func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
			started <- struct{}{}
			<-ctx.Done() // the stop comes while the event is handled
			return ctx.Err()
		})
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		var handled atomic.Int32
		done = run(ctx, func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
			if _, err := tx.Exec(ctx, "INSERT INTO counts (event_id, n) VALUES ($1, 1)", string(msg.Data())); err != nil {
				return err
			}
			tx.AfterCommit(func() { handled.Add(1) })
			return nil
		})
		testkit.Eventually(t, 15*time.Second, func() error {
			if h := handled.Load(); h != events {
				return fmt.Errorf("%d of %d events handled after the restart", h, events)
			}
			return nil
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		appliedOnceEach(t, db, events)
		if s := logged.String(); s != "" {
			t.Fatalf("a stop logged at WARN or above:\n%s", s)
		}
	})
}

// countedStream makes the counts table in db and a stream of its own
// for the test's events, under prefix.
func countedStream(t *testing.T, db dbx.DB, name string) (js jetstream.JetStream, prefix, stream string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), counterTable); err != nil {
		t.Fatal(err)
	}
	n := testkit.NATS(t)
	prefix = testkit.UniquePrefix(t)
	stream = testkit.StreamName(t, name)
	n.Stream(t, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}})
	return n.JetStream(t), prefix, stream
}

// appliedOnceEach checks that the counts table holds want events, each
// once.
func appliedOnceEach(t *testing.T, db dbx.DB, want int) {
	t.Helper()
	var rows, ids int
	if err := db.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT event_id) FROM counts").Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	if rows != want || ids != want {
		t.Fatalf("%d rows for %d events, want each of %d once", rows, ids, want)
	}
}

// syncBuffer is a log destination for handlers on several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
