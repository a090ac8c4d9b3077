package testkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// Event is one message of the events stream, decoded.
type Event struct {
	Subject string
	// Meta is the event's metadata: id, tenant, time, actor.
	Meta *eventsv1.EventMeta
	// Message is the payload decoded into its own type (named by the
	// outbox's Latchkey-Event-Type header), e.g. *eventsv1.AccountLocked.
	Message proto.Message
	// Data is the payload as published, to check what it must not carry.
	Data []byte
}

// EventQuery selects events of the stream.
type EventQuery struct {
	// Subject keeps the events whose subject matches it (NATS wildcards
	// allowed); "" keeps every event.
	Subject string
	// TenantID keeps the events of one tenant; "" keeps all.
	TenantID string
	// Names are the deployment's names on NATS (its prefix): the stream
	// read is its events stream, Subject is a base subject, and the
	// events' subjects are given as base subjects too.
	Names natsx.Names
	// NKeyFile is the seed to read as natsx.SubscriberUser with, on a NATS
	// that admits only its users (empty: no authentication).
	NKeyFile string
}

// ReadEvents reads the events stream (natsx.EventsStreamName, under
// q.Names) of the NATS
// server at natsURL from its start, and returns the events q selects, in
// stream order. Reading the stored stream rather than a live subscription
// sees exactly what every JetStream consumer gets (a duplicate the stream
// let through included), and needs nothing set up before the events are
// published. It fails t when an event cannot be decoded or its id is not
// its Nats-Msg-Id.
func ReadEvents(t testing.TB, natsURL string, q EventQuery) []Event {
	t.Helper()
	evs, err := readEvents(natsURL, q)
	if err != nil {
		t.Fatalf("testkit: read events: %v", err)
	}
	return evs
}

// WaitEvents reads the events q selects (see ReadEvents) until done says
// they are all there, and returns them; it fails t when that does not
// happen within 15 seconds. A nil done waits for one event.
func WaitEvents(t testing.TB, natsURL string, q EventQuery, done func([]Event) bool) []Event {
	t.Helper()
	if done == nil {
		done = func(evs []Event) bool { return len(evs) > 0 }
	}
	var evs []Event
	Eventually(t, 15*time.Second, func() error {
		var err error
		if evs, err = readEvents(natsURL, q); err != nil {
			return err
		}
		if !done(evs) {
			return fmt.Errorf("events %v (%d in all) are not what the test waits for", CountBySubject(evs), len(evs))
		}
		return nil
	})
	return evs
}

// CountBySubject counts events per subject; a repeated event id counts
// under "duplicate ids" too, so a comparison with the expected counts also
// catches an event delivered twice.
func CountBySubject(evs []Event) map[string]int {
	n := map[string]int{}
	seen := map[string]bool{}
	for _, e := range evs {
		n[e.Subject]++
		if seen[e.Meta.GetEventId()] {
			n["duplicate ids"]++
		}
		seen[e.Meta.GetEventId()] = true
	}
	return n
}

func readEvents(natsURL string, q EventQuery) ([]Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts, err := natsx.UserOptions(q.Names, natsx.SubscriberUser, q.NKeyFile)
	if err != nil {
		return nil, err
	}
	nc, err := natsx.Connect(ctx, natsURL, "testkit-event-reader", opts...)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		return nil, err
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if q.Subject != "" {
		cfg.FilterSubjects = []string{q.Names.Subject(q.Subject)}
	}
	cons, err := js.OrderedConsumer(ctx, q.Names.Stream(natsx.EventsStreamName), cfg)
	if err != nil {
		return nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []Event
	for remaining := info.NumPending; remaining > 0; {
		batch, err := cons.Fetch(int(min(remaining, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			ev, err := decodeEvent(m, q.Names)
			if err != nil {
				// On a server other test runs share, a message another
				// run published by hand may lack what the outbox adds;
				// only this query's own tenant must decode.
				if q.TenantID != "" && tenantOf(m.Data()) != q.TenantID {
					continue
				}
				return nil, err
			}
			if q.TenantID == "" || ev.Meta.GetTenantId() == q.TenantID {
				out = append(out, ev)
			}
		}
		if got == 0 {
			return nil, fmt.Errorf("stream read stalled with %d messages left (%v)", remaining, batch.Error())
		}
		remaining -= uint64(got)
	}
	return out, nil
}

func decodeEvent(m jetstream.Msg, names natsx.Names) (Event, error) {
	typ := m.Headers().Get(outbox.HeaderEventType)
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
	if err != nil {
		return Event{}, fmt.Errorf("%s: event type %q: %w", m.Subject(), typ, err)
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(m.Data(), msg); err != nil {
		return Event{}, fmt.Errorf("%s: %w", m.Subject(), err)
	}
	x, ok := msg.(interface{ GetMeta() *eventsv1.EventMeta })
	if !ok {
		return Event{}, fmt.Errorf("%s: %s has no meta", m.Subject(), typ)
	}
	meta := x.GetMeta()
	if id := m.Headers().Get(jetstream.MsgIDHeader); meta.GetEventId() != id {
		return Event{}, fmt.Errorf("%s: event id %s differs from its Nats-Msg-Id %s", m.Subject(), meta.GetEventId(), id)
	}
	return Event{Subject: names.Base(m.Subject()), Meta: meta, Message: msg, Data: m.Data()}, nil
}

// tenantOf reads the tenant id of an event's metadata without knowing the
// event's type: every event message carries its EventMeta as field 1.
func tenantOf(data []byte) string {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return ""
		}
		data = data[n:]
		if num == 1 && typ == protowire.BytesType {
			b, n := protowire.ConsumeBytes(data)
			var meta eventsv1.EventMeta
			if n < 0 || proto.Unmarshal(b, &meta) != nil {
				return ""
			}
			return meta.GetTenantId()
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return ""
		}
		data = data[n:]
	}
	return ""
}
