package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// The example keeps its own copy of the header's name (it imports none of
// Latchkey's code); it must be the outbox's.
func TestHeaderEventType_IsTheOutboxs(t *testing.T) {
	if HeaderEventType != outbox.HeaderEventType {
		t.Fatalf("HeaderEventType = %q, the outbox sets %q", HeaderEventType, outbox.HeaderEventType)
	}
}

// An event published by a service's outbox relay reaches the example's
// handler once, decoded into its own type, although the stream also holds
// a copy of it that JetStream's duplicate window did not catch (as after a
// relay republished it minutes later) and an event of a type newer than
// this build; every message ends acknowledged.
func TestConsume_OutboxEventHandledOnceAndAcknowledged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := testkit.NATS(t)
	prefix := testkit.UniquePrefix(t)
	cfg := natsx.EventsStream(natsx.StreamOptions{})
	cfg.Name = testkit.StreamName(t, "EVENTS")
	cfg.Subjects = []string{prefix + ".>"}
	stream := srv.Stream(t, cfg)
	js := srv.JetStream(t)

	// The event, written in a transaction and relayed as every service does.
	db := testkit.OpenSQLite(t, "events")
	if err := dbx.Migrate(ctx, db, "outbox", outbox.Migrations); err != nil {
		t.Fatal(err)
	}
	box := outbox.New(db, clock.System{}, "test")
	sent := &eventsv1.AccountLocked{
		Meta:      events.NewMeta("tenant-1", &eventsv1.Actor{Kind: eventsv1.Actor_Kind_ADMIN, AccountId: "admin-1"}, time.Now()),
		AccountId: "account-1",
		Reason:    accountv1.LockReason_ADMIN,
	}
	subject := prefix + ".account.locked"
	err := db.InTx(ctx, func(tx dbx.Tx) error { return box.Write(ctx, tx, subject, sent.GetMeta().GetEventId(), sent) })
	if err != nil {
		t.Fatal(err)
	}
	relay := box.NewRelay(js, outbox.RelayOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if n, err := relay.PublishPending(ctx); err != nil || n != 1 {
		t.Fatalf("relay published %d, %v", n, err)
	}

	// The copy: the stored message again, without the Nats-Msg-Id that
	// lets JetStream drop it.
	stored, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	dup := &nats.Msg{Subject: stored.Subject, Data: stored.Data, Header: nats.Header{}}
	for k, v := range stored.Header {
		if k != jetstream.MsgIDHeader {
			dup.Header[k] = v
		}
	}
	newer := &nats.Msg{Subject: prefix + ".account.something_new", Data: []byte{0x0a, 0x00}, Header: nats.Header{}}
	newer.Header.Set(HeaderEventType, "latchkey.events.v1.SomethingNew")
	for _, m := range []*nats.Msg{dup, newer} {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var got []Event
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	const durable = "example-audit"
	go func() {
		done <- Consume(runCtx, js, Config{
			Stream: cfg.Name, Durable: durable, Filter: prefix + ".account.>",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, func(_ context.Context, ev Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			return nil
		})
	}()
	testkit.Eventually(t, 15*time.Second, func() error {
		cons, err := js.Consumer(ctx, cfg.Name, durable)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < 3 || info.NumAckPending > 0 || info.NumPending > 0 {
			return fmt.Errorf("acknowledged up to %d of 3, %d waiting for an ack, %d pending",
				info.AckFloor.Stream, info.NumAckPending, info.NumPending)
		}
		return nil
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("handled %d events, want the one AccountLocked once: %v", len(got), got)
	}
	ev := got[0]
	if ev.Type != "latchkey.events.v1.AccountLocked" || ev.Subject != subject {
		t.Errorf("event %s on %s, want latchkey.events.v1.AccountLocked on %s", ev.Type, ev.Subject, subject)
	}
	if !proto.Equal(ev.Message, sent) || ev.Meta.GetEventId() != sent.GetMeta().GetEventId() {
		t.Errorf("decoded %v, want %v", ev.Message, sent)
	}
}
