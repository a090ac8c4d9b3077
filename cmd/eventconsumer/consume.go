package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The event types: importing the package registers them, so a
	// Latchkey-Event-Type header can be looked up by name.
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// HeaderEventType names the payload's protobuf type on every event
// (Latchkey's outbox sets it).
const HeaderEventType = "Latchkey-Event-Type"

// Config says which events to read, as whom.
type Config struct {
	// Stream is the events stream, LATCHKEY_EVENTS (with the deployment's
	// LATCHKEY_NATS_PREFIX, if it sets one).
	Stream string
	// Durable is this subscriber's own consumer name. Every copy of the
	// subscriber started with it shares the deliveries; never use a name
	// of Latchkey's services (docs/events.md lists them).
	Durable string
	// Filter selects the subjects, e.g. latchkey.events.v1.account.>.
	Filter string
	// Seen remembers the event ids handled; nil: an in-memory Memory.
	Seen Seen
	// Logger, nil: slog.Default().
	Logger *slog.Logger
}

// Event is one decoded event.
type Event struct {
	Subject string
	// Type is the Latchkey-Event-Type header, e.g.
	// latchkey.events.v1.AccountLocked.
	Type string
	// Meta is the id, time, tenant and actor every event starts with.
	Meta *eventsv1.EventMeta
	// Message is the payload in its own type, e.g. *eventsv1.AccountLocked.
	Message proto.Message
}

// Handler does what the subscriber is for with one event. An error has
// the event delivered again later.
type Handler func(ctx context.Context, ev Event) error

// Seen remembers which events were handled. Events arrive at least once, so
// a subscriber skips an id it has handled. A real one keeps the ids in its
// own database, written in the same transaction as what it does with the
// event, for at least the 7 days the stream keeps events; then a crash
// between its commit and the acknowledgement changes nothing twice.
type Seen interface {
	Handled(id string) bool
	Remember(id string)
}

// Memory is a Seen that forgets everything when the process ends: enough
// for an example, not for a subscriber that must not act twice.
type Memory struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Handled reports whether id was remembered.
func (m *Memory) Handled(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[id]
}

// Remember records id.
func (m *Memory) Remember(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	m.ids[id] = true
}

// errUnknownType is an event type this build does not know: one added to
// Latchkey after the event types were compiled in.
var errUnknownType = errors.New("unknown event type")

// Consume creates cfg.Durable on the stream (or takes it up where it was
// left) and hands each new event to h until ctx ends.
func Consume(ctx context.Context, js jetstream.JetStream, cfg Config, h Handler) error {
	if cfg.Durable == "" {
		return errors.New("a durable consumer name is needed")
	}
	if cfg.Seen == nil {
		cfg.Seen = &Memory{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		FilterSubject: cfg.Filter,
		// From the oldest event the stream still has (7 days); use
		// DeliverNewPolicy to start from now.
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			cfg.Logger.Info("next event", "err", err) // NATS away: the iterator reconnects
			continue
		}
		handle(ctx, cfg, h, msg)
	}
}

// handle decodes one message, skips it when its event was handled, hands
// it to h and acknowledges it.
func handle(ctx context.Context, cfg Config, h Handler, msg jetstream.Msg) {
	ev, err := Decode(msg)
	switch {
	case errors.Is(err, errUnknownType):
		cfg.Logger.Info("event of a type this build does not know skipped", "type", ev.Type, "subject", ev.Subject)
		_ = msg.Ack()
		return
	case err != nil:
		// It will not decode next time either: tell JetStream to stop.
		cfg.Logger.Error("event dropped", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	id := ev.Meta.GetEventId()
	if cfg.Seen.Handled(id) {
		_ = msg.Ack() // a repeat: done before
		return
	}
	if err := h(ctx, ev); err != nil {
		cfg.Logger.Warn("handler failed; the event comes again", "event_id", id, "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	cfg.Seen.Remember(id)
	if err := msg.Ack(); err != nil {
		// Delivered again after AckWait, and then skipped as seen.
		cfg.Logger.Warn("ack failed", "event_id", id, "err", err)
	}
}

// Decode turns a message of the events stream into its event, by the
// Latchkey-Event-Type header.
func Decode(msg jetstream.Msg) (Event, error) {
	ev := Event{Subject: msg.Subject(), Type: msg.Headers().Get(HeaderEventType)}
	if ev.Type == "" {
		return ev, fmt.Errorf("no %s header", HeaderEventType)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(ev.Type))
	if err != nil {
		return ev, fmt.Errorf("%w: %s", errUnknownType, ev.Type)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(msg.Data(), m); err != nil {
		return ev, fmt.Errorf("decode %s: %w", ev.Type, err)
	}
	withMeta, ok := m.(interface{ GetMeta() *eventsv1.EventMeta })
	if !ok || withMeta.GetMeta().GetEventId() == "" {
		return ev, fmt.Errorf("%s has no event id", ev.Type)
	}
	ev.Meta, ev.Message = withMeta.GetMeta(), m
	return ev, nil
}
