package testkit

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestReadEvents_DecodesFiltersAndWaits(t *testing.T) {
	n := NATS(t)
	if n.Shared {
		t.Skip("reads the real events stream, which a shared server has for everyone")
	}
	ctx := testContext(t)
	js := n.JetStream(t)
	if err := natsx.EnsureStreams(ctx, js, natsx.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	publish := func(subject, tenant, msgID string, msg interface {
		proto.Message
		GetMeta() *eventsv1.EventMeta
	}) {
		t.Helper()
		meta := events.NewMeta(tenant, nil, time.Now())
		if msgID == "" {
			msgID = meta.EventId
		}
		proto.Merge(msg.GetMeta(), meta)
		data, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		m.Header.Set(outbox.HeaderEventType, string(msg.ProtoReflect().Descriptor().FullName()))
		if _, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(msgID)); err != nil {
			t.Fatal(err)
		}
	}
	publish(events.AccountLocked, "t1", "", &eventsv1.AccountLocked{Meta: &eventsv1.EventMeta{}, AccountId: "a1"})
	publish(events.AccountUnlocked, "t1", "", &eventsv1.AccountUnlocked{Meta: &eventsv1.EventMeta{}, AccountId: "a1"})
	publish(events.AccountLocked, "t2", "", &eventsv1.AccountLocked{Meta: &eventsv1.EventMeta{}, AccountId: "a2"})

	all := ReadEvents(t, n.URL, EventQuery{})
	if got := CountBySubject(all); len(all) != 3 || got[events.AccountLocked] != 2 || got[events.AccountUnlocked] != 1 {
		t.Fatalf("all events: %v", got)
	}
	locked := ReadEvents(t, n.URL, EventQuery{Subject: events.AccountLocked, TenantID: "t1"})
	if len(locked) != 1 || locked[0].Message.(*eventsv1.AccountLocked).GetAccountId() != "a1" || locked[0].Meta.GetTenantId() != "t1" {
		t.Fatalf("t1's AccountLocked: %+v", locked)
	}

	// The first look sees one event of t1 and publishes another, so the
	// wait has to look again.
	published := false
	late := WaitEvents(t, n.URL, EventQuery{Subject: events.AccountLocked, TenantID: "t1"}, func(evs []Event) bool {
		if !published {
			published = true
			publish(events.AccountLocked, "t1", "", &eventsv1.AccountLocked{Meta: &eventsv1.EventMeta{}, AccountId: "a3"})
		}
		return len(evs) == 2
	})
	if late[1].Message.(*eventsv1.AccountLocked).GetAccountId() != "a3" {
		t.Fatalf("waited for %+v", late)
	}

	// An event whose id is not its Nats-Msg-Id is a publisher's bug.
	publish(events.AccountLocked, "t1", "another-id", &eventsv1.AccountLocked{Meta: &eventsv1.EventMeta{}})
	if _, err := readEvents(n.URL, EventQuery{}); err == nil || !strings.Contains(err.Error(), "Nats-Msg-Id") {
		t.Fatalf("readEvents = %v, want the id mismatch", err)
	}
}

func TestCountBySubject_CountsRepeatedIDs(t *testing.T) {
	meta := &eventsv1.EventMeta{EventId: "e1"}
	got := CountBySubject([]Event{{Subject: "a", Meta: meta}, {Subject: "a", Meta: meta}, {Subject: "b", Meta: &eventsv1.EventMeta{EventId: "e2"}}})
	if got["a"] != 2 || got["b"] != 1 || got["duplicate ids"] != 1 {
		t.Fatalf("CountBySubject = %v", got)
	}
}

// A message without the outbox's type header (published by hand by some
// other test run on a shared server) is passed over when it is another
// tenant's, and an error when it is the queried tenant's own.
func TestTenantOf_ReadsTheMetaOfAnyEvent(t *testing.T) {
	data, err := proto.Marshal(&eventsv1.AccountUpdated{Meta: &eventsv1.EventMeta{EventId: "e", TenantId: "t-1"}, AccountId: "a", ChangedFields: []string{"roles"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tenantOf(data); got != "t-1" {
		t.Fatalf("tenantOf = %q, want t-1", got)
	}
	if got := tenantOf([]byte("not protobuf \xff")); got != "" {
		t.Fatalf("tenantOf(garbage) = %q", got)
	}
}
