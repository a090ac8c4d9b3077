package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The events stream carries the domain events services publish for each
// other (account created, credential changed, ...). It keeps them by limits,
// not by consumers, so that a service added later can replay history.
const (
	// EventsStreamName is the JetStream name of the events stream.
	EventsStreamName = "LATCHKEY_EVENTS"
	// EventsSubjectPrefix starts every event subject; the "v1" lets a
	// later incompatible event format live beside this one.
	EventsSubjectPrefix = "latchkey.events.v1"
	// EventsSubjects is the subject filter the events stream captures.
	EventsSubjects = EventsSubjectPrefix + ".>"
)

// The notify stream is a work queue of notifications to send (mail, SMS):
// each message is meant for exactly one sender and is gone once acknowledged.
const (
	// NotifyStreamName is the JetStream name of the notification stream.
	NotifyStreamName = "LATCHKEY_NOTIFY"
	// NotifySubjectPrefix starts every notification subject.
	NotifySubjectPrefix = "latchkey.notify.v1"
	// NotifySubjects is the subject filter the notify stream captures.
	NotifySubjects = NotifySubjectPrefix + ".>"
)

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id. The outbox
// relay re-publishes rows it could not mark as sent; two minutes covers a
// relay crash and restart, which is the case the window is there for.
const DuplicateWindow = 2 * time.Minute

// EventsMaxAge is how long the events stream keeps an event: consumers of
// other systems that are down for up to a week still catch up, and the
// stream does not grow without bound.
const EventsMaxAge = 7 * 24 * time.Hour

// StreamOptions are what a deployment chooses about its streams: their
// names (the prefix) and how many servers of a NATS cluster keep each.
type StreamOptions struct {
	Names Names
	// Replicas is the number of copies of each stream (CheckReplicas); 0
	// means 1.
	Replicas int
}

// MaxReplicas is the most copies JetStream keeps of a stream.
const MaxReplicas = 5

// CheckReplicas says whether n copies of a stream make sense: 1 to
// MaxReplicas, and odd, because JetStream's stream leader needs a majority
// and an even count tolerates no more failures than the odd one below it.
func CheckReplicas(n int) error {
	if n < 1 || n > MaxReplicas || n%2 == 0 {
		return fmt.Errorf("%d: must be 1, 3 or 5 (an odd number of copies, at most %d, and at most the NATS cluster's size)", n, MaxReplicas)
	}
	return nil
}

func (o StreamOptions) replicas() int { return max(o.Replicas, 1) }

// EventsStream returns the configuration of the events stream. It is a
// function, not a variable, so no caller can change the shared definition;
// tests may copy it and rename the copy.
func EventsStream(o StreamOptions) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        o.Names.Stream(EventsStreamName),
		Description: "Latchkey domain events",
		Subjects:    []string{o.Names.Subject(EventsSubjects)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DuplicateWindow,
		MaxAge:      EventsMaxAge,
		Discard:     jetstream.DiscardOld,
		Replicas:    o.replicas(),
	}
}

// NotifyStream returns the configuration of the notification work queue.
// It is stored on file as well: a notification accepted before a NATS
// restart must still be sent after it.
func NotifyStream(o StreamOptions) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        o.Names.Stream(NotifyStreamName),
		Description: "Latchkey notifications to send",
		Subjects:    []string{o.Names.Subject(NotifySubjects)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DuplicateWindow,
		Discard:     jetstream.DiscardOld,
		Replicas:    o.replicas(),
	}
}

// Streams returns every stream Latchkey needs, in the order EnsureStreams
// creates them.
func Streams(o StreamOptions) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{EventsStream(o), NotifyStream(o)}
}

// EnsureStreams creates the Latchkey streams, or updates them to the current
// definition, so every service can call it at start without coordinating
// who goes first. A change of o.Replicas is applied to existing streams.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	for _, cfg := range Streams(o) {
		if _, err := EnsureStream(ctx, js, cfg); err != nil {
			return err
		}
	}
	return nil
}

// StreamsPatience is how long a service at start keeps asking a JetStream
// that does not answer in time (Patiently).
const StreamsPatience = 2 * time.Minute

// streamsRound bounds one round of Patiently (JetStream's own default
// time-out of a request).
const streamsRound = 5 * time.Second

// AwaitStreams is EnsureStreams at a service's start, asked Patiently.
func AwaitStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions, log *slog.Logger) error {
	return Patiently(ctx, log, func(ctx context.Context) error { return EnsureStreams(ctx, js, o) })
}

// Patiently runs fn, a JetStream request a service makes at start, until
// JetStream answers it. A NATS cluster that starts beside the services (a
// cold start, a rollout of both) elects its JetStream leader first and
// times every request out until then, and an R3 stream is made only once
// enough servers are up. So a time-out, or no JetStream answering at all,
// is asked again (half a second, then up to every five) for up to
// StreamsPatience, each logged; any other error (a refused permission, a
// change a stream cannot take in place) is returned at once.
func Patiently(ctx context.Context, log *slog.Logger, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(StreamsPatience)
	wait := 500 * time.Millisecond
	for {
		// Each round has its own time: a request sent before the leader
		// was elected is never answered, and would hold the whole wait.
		round, cancel := context.WithTimeout(ctx, streamsRound)
		err := fn(round)
		cancel()
		if err == nil || !jetStreamNotAnswering(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		log.Warn("NATS JetStream does not answer yet; asking again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// jetStreamNotAnswering reports an error of a JetStream that is not (yet)
// there: a request that timed out, or that no server took.
func jetStreamNotAnswering(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// EnsureStream creates the stream cfg describes or updates an existing one
// to it. A stream that already matches cfg is left alone: every service
// ensures the streams at start, and an update of a stream other services
// are adding consumers to is needless churn (and trips a data race inside
// nats-server 2.15 when it runs embedded). Some changes cannot be made in
// place (storage type; retention on a 2.9 server): those return the
// server's error rather than deleting data.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, cfg.Name)
	switch {
	case err == nil:
		if sameStream(s.CachedInfo().Config, cfg) {
			return s, nil
		}
		if s, err = js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("natsx: update stream %s: %w", cfg.Name, err)
		}
		return s, nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("natsx: stream %s: %w", cfg.Name, err)
	}
	s, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another service created it meanwhile.
		return EnsureStream(ctx, js, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("natsx: ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// sameStream reports whether have already is what want describes, in the
// fields Latchkey sets.
func sameStream(have, want jetstream.StreamConfig) bool {
	replicas := func(n int) int { return max(n, 1) }
	return slices.Equal(have.Subjects, want.Subjects) && have.Description == want.Description &&
		have.Retention == want.Retention && have.Storage == want.Storage && have.Discard == want.Discard &&
		have.Duplicates == want.Duplicates && have.MaxAge == want.MaxAge && replicas(have.Replicas) == replicas(want.Replicas)
}
