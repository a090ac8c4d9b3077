package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type fixture struct {
	db      dbx.DB
	box     *outbox.Outbox
	js      jetstream.JetStream
	stream  jetstream.Stream
	subject string
}

func setup(t *testing.T, db dbx.DB) *fixture {
	t.Helper()
	if err := dbx.Migrate(context.Background(), db, "outbox", outbox.Migrations); err != nil {
		t.Fatal(err)
	}
	n := testkit.NATS(t)
	prefix := testkit.UniquePrefix(t)
	stream := n.Stream(t, jetstream.StreamConfig{
		Name:       testkit.StreamName(t, "OUTBOX"),
		Subjects:   []string{prefix + ".>"},
		Duplicates: 2 * time.Minute,
	})
	return &fixture{
		db:      db,
		box:     outbox.New(db, clock.System{}, "test"),
		js:      n.JetStream(t),
		stream:  stream,
		subject: prefix + ".thing.created",
	}
}

func (f *fixture) write(t *testing.T, id, value string) {
	t.Helper()
	err := f.db.InTx(context.Background(), func(tx dbx.Tx) error {
		return f.box.Write(context.Background(), tx, f.subject, id, wrapperspb.String(value))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) relay() *outbox.Relay {
	return f.box.NewRelay(f.js, outbox.RelayOptions{
		Poll:   time.Hour, // only wake-ups may move it: proves they work
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func (f *fixture) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.relay().Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	}
}

// waitMessages waits until the stream holds want messages and returns them.
func (f *fixture) waitMessages(t *testing.T, want int) []jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := f.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if int(info.State.Msgs) >= want || time.Now().After(deadline) {
			if int(info.State.Msgs) != want {
				t.Fatalf("stream holds %d messages, want %d", info.State.Msgs, want)
			}
			var msgs []jetstream.RawStreamMsg
			for seq := info.State.FirstSeq; seq <= info.State.LastSeq && want > 0; seq++ {
				m, err := f.stream.GetMsg(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, *m)
			}
			return msgs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRelay_PublishesCommittedEventPromptly(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		stop := f.run(t)
		defer stop()
		id := ids.New()
		start := time.Now()
		f.write(t, id, "hello")
		msgs := f.waitMessages(t, 1)
		t.Logf("published %v after commit", time.Since(start))
		m := msgs[0]
		if m.Header.Get(jetstream.MsgIDHeader) != id {
			t.Fatalf("Nats-Msg-Id = %q, want %q", m.Header.Get(jetstream.MsgIDHeader), id)
		}
		if got := m.Header.Get(outbox.HeaderEventType); got != "google.protobuf.StringValue" {
			t.Fatalf("event type header = %q", got)
		}
		var v wrapperspb.StringValue
		if err := proto.Unmarshal(m.Data, &v); err != nil || v.Value != "hello" {
			t.Fatalf("payload = %v (%v)", v.Value, err)
		}
		waitPending(t, f.box, 0)
	})
}

func TestWrite_RolledBackEventIsNeverPublished(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		boom := errors.New("boom")
		err := db.InTx(context.Background(), func(tx dbx.Tx) error {
			if err := f.box.Write(context.Background(), tx, f.subject, ids.New(), wrapperspb.String("no")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if n, err := f.relay().PublishPending(context.Background()); err != nil || n != 0 {
			t.Fatalf("published %d (%v) after rollback", n, err)
		}
	})
}

func TestRelay_StoppedWhileEventsPending_PublishesEachOnceOnRestart(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		stop := f.run(t)
		f.write(t, ids.New(), "first")
		f.waitMessages(t, 1)
		stop()
		// Written while no relay runs.
		for i := 0; i < 5; i++ {
			f.write(t, ids.New(), "pending")
		}
		waitPending(t, f.box, 5)
		stop = f.run(t)
		defer stop()
		msgs := f.waitMessages(t, 6)
		seen := map[string]bool{}
		for _, m := range msgs {
			id := m.Header.Get(jetstream.MsgIDHeader)
			if seen[id] {
				t.Fatalf("event %s published twice", id)
			}
			seen[id] = true
		}
		waitPending(t, f.box, 0)
	})
}

func TestRelay_RepublishAfterCrashIsDroppedByJetStream(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		f.write(t, ids.New(), "once")
		if n, err := f.relay().PublishPending(context.Background()); err != nil || n != 1 {
			t.Fatalf("publish: %d %v", n, err)
		}
		// A relay that died after publishing, before marking sent.
		if _, err := db.Exec(context.Background(), "UPDATE outbox_events SET sent_at = NULL, lease_until = NULL"); err != nil {
			t.Fatal(err)
		}
		if n, err := f.relay().PublishPending(context.Background()); err != nil || n != 1 {
			t.Fatalf("republish: %d %v", n, err)
		}
		f.waitMessages(t, 1)
	})
}

func TestRelay_RefusedPublishKeepsEventPending(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		f.write(t, ids.New(), "goes out")
		good := f.subject
		f.subject = "nostream." + testkit.UniquePrefix(t) // JetStream refuses it
		f.write(t, ids.New(), "stays")
		f.subject = good
		if _, err := f.relay().PublishPending(context.Background()); err == nil {
			t.Fatal("publish to a subject no stream captures succeeded")
		}
		f.waitMessages(t, 1)
		waitPending(t, f.box, 1)
	})
}

func waitPending(t *testing.T, box *outbox.Outbox, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := box.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWriteAll_PublishesEveryEventInOrder(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		var msgs []outbox.Message
		for i := 0; i < 250; i++ { // more than one INSERT's worth
			msgs = append(msgs, outbox.Message{Subject: f.subject, ID: ids.New(), Message: wrapperspb.String(fmt.Sprint(i))})
		}
		if err := db.InTx(context.Background(), func(tx dbx.Tx) error { return f.box.WriteAll(context.Background(), tx, msgs) }); err != nil {
			t.Fatal(err)
		}
		waitPending(t, f.box, 250)
		stop := f.run(t)
		defer stop()
		got := f.waitMessages(t, 250)
		for i, m := range got {
			if m.Header.Get(jetstream.MsgIDHeader) != msgs[i].ID {
				t.Fatalf("message %d is %s, want %s (write order)", i, m.Header.Get(jetstream.MsgIDHeader), msgs[i].ID)
			}
		}
	})
}

// Rows keep their base subject; the relay publishes them under its
// deployment's names, so rows waiting while the prefix changes go out
// under the new one.
func TestRelay_PublishesUnderItsNames(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := setup(t, db)
		prefix, base, _ := strings.Cut(f.subject, ".")
		id := ids.New()
		if err := db.InTx(ctx, func(tx dbx.Tx) error {
			return f.box.Write(ctx, tx, base, id, wrapperspb.String("x"))
		}); err != nil {
			t.Fatal(err)
		}
		relay := f.box.NewRelay(f.js, outbox.RelayOptions{Names: natsx.Names{Prefix: prefix}})
		if n, err := relay.PublishPending(ctx); err != nil || n != 1 {
			t.Fatalf("published %d, %v", n, err)
		}
		if m := f.waitMessages(t, 1)[0]; m.Subject != f.subject || m.Header.Get(jetstream.MsgIDHeader) != id {
			t.Fatalf("published to %s (id %s), want %s", m.Subject, m.Header.Get(jetstream.MsgIDHeader), f.subject)
		}
	})
}

// A batch is published at once: an event JetStream refuses stays pending
// alone, and those after it in the batch go out and are marked sent.
func TestRelay_RefusedEventInABatchHoldsBackNoOther(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		f := setup(t, db)
		good := f.subject
		f.write(t, ids.New(), "first")
		f.subject = "nostream." + testkit.UniquePrefix(t)
		f.write(t, ids.New(), "refused")
		f.subject = good
		f.write(t, ids.New(), "third")
		if n, err := f.relay().PublishPending(context.Background()); err == nil || n != 2 {
			t.Fatalf("PublishPending = %d, %v; want 2 and the refusal", n, err)
		}
		msgs := f.waitMessages(t, 2)
		var got []string
		for _, m := range msgs {
			var v wrapperspb.StringValue
			if err := proto.Unmarshal(m.Data, &v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v.GetValue())
		}
		if strings.Join(got, ",") != "first,third" {
			t.Fatalf("stream holds %v, want first,third in order", got)
		}
		waitPending(t, f.box, 1)
	})
}

// On PostgreSQL a relay in another process is woken by the commit's
// NOTIFY, sent by the INSERT itself (Write and WriteAll): here the relay
// runs on a second Outbox of the same database, which no in-memory
// wake-up reaches, and it polls once an hour.
func TestRelay_OtherProcessIsWokenByTheCommit_Postgres(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		if db.Dialect() != dbx.Postgres {
			t.Skip("SQLite has one process")
		}
		f := setup(t, db)
		writer := f.box
		f.box = outbox.New(db, clock.System{}, "test") // the other process
		stop := f.run(t)
		defer stop()
		time.Sleep(200 * time.Millisecond) // its LISTEN is in place
		err := db.InTx(context.Background(), func(tx dbx.Tx) error {
			return writer.Write(context.Background(), tx, f.subject, ids.New(), wrapperspb.String("one"))
		})
		if err != nil {
			t.Fatal(err)
		}
		f.waitMessages(t, 1)
		err = db.InTx(context.Background(), func(tx dbx.Tx) error {
			return writer.WriteAll(context.Background(), tx, []outbox.Message{
				{Subject: f.subject, ID: ids.New(), Message: wrapperspb.String("two")},
				{Subject: f.subject, ID: ids.New(), Message: wrapperspb.String("three")},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		f.waitMessages(t, 3)
	})
}

// countingDB counts the relay's claims (SQLite: no LISTEN to keep).
type countingDB struct {
	dbx.DB
	claims atomic.Int32
}

func (c *countingDB) Query(ctx context.Context, q string, args ...any) (dbx.Rows, error) {
	if strings.Contains(q, "SET lease_until") {
		c.claims.Add(1)
	}
	return c.DB.Query(ctx, q, args...)
}

// Events that come one at a time cost the relay one claim each: a claim
// that found less than a batch was all there was, and the next commit
// wakes it, so it does not ask again for nothing (it did, a statement
// per event).
func TestRelay_OneClaimPerEventWhenEventsTrickle(t *testing.T) {
	testkit.EachDialect(t, "svc", func(t *testing.T, db dbx.DB) {
		if db.Dialect() != dbx.SQLite {
			t.Skip("the count is the same on PostgreSQL, whose relay needs the real *dbx.PG to LISTEN")
		}
		f := setup(t, db)
		counted := &countingDB{DB: db}
		f.db, f.box = counted, outbox.New(counted, clock.System{}, "test")
		stop := f.run(t)
		defer stop()
		const events = 10
		for i := range events {
			f.write(t, ids.New(), fmt.Sprint("event ", i))
			f.waitMessages(t, i+1)
		}
		waitPending(t, f.box, 0)
		// The first claim finds nothing; each event then takes one, and a
		// wake-up that raced a claim may take one more now and then.
		if n := counted.claims.Load(); n > events+3 {
			t.Fatalf("%d claims for %d events, want about one each", n, events)
		}
	})
}
