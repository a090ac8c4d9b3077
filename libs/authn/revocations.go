package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// SessionRevokedSubject is the subject of eventsv1.SessionRevoked. (It is
// spelled out here rather than taken from libs/events, which imports this
// package.)
const SessionRevokedSubject = natsx.EventsSubjectPrefix + ".session.revoked"

// DefaultRevocationLookback is how far back a follower starting up reads
// revocations: an access token lives at most 10 minutes, so a revocation
// older than that (and the grace) cannot concern a token still in use.
const DefaultRevocationLookback = 10*time.Minute + DenylistGrace

// FollowOptions configure FollowRevocations; zero values take the
// defaults. Tests set Stream and Subject to their own.
type FollowOptions struct {
	// Stream defaults to natsx.EventsStreamName.
	Stream string
	// Subject defaults to SessionRevokedSubject.
	Subject string
	// Names are the deployment's names on NATS, applied to Stream and
	// Subject.
	Names natsx.Names
	// Lookback defaults to DefaultRevocationLookback; make it at least the
	// access-token lifetime.
	Lookback time.Duration
	// CatchUpTimeout bounds the wait for the revocations already in the
	// stream (default 10s).
	CatchUpTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxLag is how long the feed may go without proof that it is caught
	// up before its denylist (or set of retired keys) stops being trusted
	// alone (default DefaultFeedMaxLag); see Denylist.Current.
	MaxLag time.Duration
	// Settle is how long after NATS comes back the denylist (or set of
	// retired keys) is still not trusted alone (default DefaultFeedSettle).
	Settle time.Duration
}

// FollowRevocations feeds d from the SessionRevoked events of the events
// stream until ctx ends. It reads with an ordered consumer (ephemeral, no
// acks, in stream order, recreated by the client after a reconnect)
// starting Lookback ago, so a restarted service rebuilds its list instead
// of starting empty. It uses a single filter subject, which nats-server
// 2.9 understands.
//
// It returns once the revocations already in the stream have been applied,
// so a service that calls it before serving never admits a token of a
// session revoked while it was down. If that does not happen within
// CatchUpTimeout it stops and returns an error, and the caller decides
// whether to start anyway.
//
// From then on it keeps proving that d is current: the NATS connection is
// up (and has been for opts.Settle since it last came back, so the
// revocations the credential service's outbox kept during an outage have
// reached the stream) and, probed every few hundred milliseconds, the
// stream holds no revocation it has not applied. Without that proof for
// opts.MaxLag (NATS down, the consumer being recreated after a
// reconnect, a backlog just relayed) d.Current turns false, and a
// Verifier asks the credential service about each session instead of
// trusting the list (fail closed).
func FollowRevocations(ctx context.Context, js jetstream.JetStream, d *Denylist, opts FollowOptions) error {
	if opts.Subject == "" {
		opts.Subject = SessionRevokedSubject
	}
	if opts.Lookback <= 0 {
		opts.Lookback = DefaultRevocationLookback
	}
	connected, reconnects := connFuncs(js.Conn())
	health := newFeedHealth(opts.MaxLag, opts.Settle, connected, reconnects)
	err := follow(ctx, js, opts, health, func(msg jetstream.Msg, log *slog.Logger) { applyRevocation(msg, d, log) })
	if err != nil {
		return err
	}
	d.attachFeed(health)
	go func() {
		sweep := time.NewTicker(denylistSweepEvery)
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sweep.C:
				d.Sweep()
			}
		}
	}()
	return nil
}

// follow applies every message of opts.Subject from opts.Lookback ago
// until ctx ends, and returns once those already in the stream are
// applied (or with an error after opts.CatchUpTimeout). With health, it
// records what it applied there and probes the stream to prove it caught
// up.
func follow(ctx context.Context, js jetstream.JetStream, opts FollowOptions, health *feedHealth, apply func(jetstream.Msg, *slog.Logger)) error {
	if opts.Stream == "" {
		opts.Stream = natsx.EventsStreamName
	}
	opts.Stream, opts.Subject = opts.Names.Stream(opts.Stream), opts.Names.Subject(opts.Subject)
	if opts.CatchUpTimeout <= 0 {
		opts.CatchUpTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("stream", opts.Stream, "subject", opts.Subject)

	// The stream's time, not an injected clock: it is compared with the
	// times the server stamped on the messages.
	start := time.Now().Add(-opts.Lookback)

	// Which message means "caught up": the last revocation now in the
	// stream, if it is recent enough to be delivered at all.
	// At a cold start JetStream may not answer yet: asked patiently.
	var stream jetstream.Stream
	var last *jetstream.RawStreamMsg
	err := natsx.Patiently(ctx, log, func(ctx context.Context) error {
		var err error
		if stream, err = js.Stream(ctx, opts.Stream); err != nil {
			return fmt.Errorf("authn: follow %s: stream %s: %w", opts.Subject, opts.Stream, err)
		}
		last, err = stream.GetLastMsgForSubject(ctx, opts.Subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			last, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("authn: follow %s: last message: %w", opts.Subject, err)
		}
		return nil
	})
	var target uint64
	switch {
	case err != nil:
		return err
	case last == nil:
	case !last.Time.Before(start):
		target = last.Sequence
	case health != nil:
		// Too old to be delivered, and too old to matter: the feed
		// counts as having applied it.
		health.applyUpTo(last.Sequence)
	}

	var cons jetstream.Consumer
	err = natsx.Patiently(ctx, log, func(rctx context.Context) error {
		var err error
		cons, err = js.OrderedConsumer(rctx, opts.Stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{opts.Subject},
			DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
			OptStartTime:   &start,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("authn: follow %s: consumer: %w", opts.Subject, err)
	}

	caughtUp := make(chan struct{})
	var once sync.Once
	markCaughtUp := func() { once.Do(func() { close(caughtUp) }) }
	if target == 0 {
		markCaughtUp()
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		apply(msg, log)
		if meta, err := msg.Metadata(); err == nil {
			if health != nil {
				health.applyUpTo(meta.Sequence.Stream)
			}
			if meta.Sequence.Stream >= target {
				markCaughtUp()
			}
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		// Missed heartbeats and the like while NATS is away: the
		// consumer resumes by itself once it is back.
		log.Info("authn: event feed", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("authn: follow %s: consume: %w", opts.Subject, err)
	}

	timer := time.NewTimer(opts.CatchUpTimeout)
	defer timer.Stop()
	select {
	case <-caughtUp:
	case <-timer.C:
		cc.Stop()
		return fmt.Errorf("authn: follow %s: not caught up with %s after %v", opts.Subject, opts.Stream, opts.CatchUpTimeout)
	case <-ctx.Done():
		cc.Stop()
		return ctx.Err()
	}

	context.AfterFunc(ctx, cc.Stop)
	if health != nil {
		health.observe(target)
		go health.probe(ctx, stream, opts.Subject)
	}
	return nil
}

func applyRevocation(msg jetstream.Msg, d *Denylist, log *slog.Logger) {
	var ev eventsv1.SessionRevoked
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		log.Error("authn: undecodable SessionRevoked skipped", "err", err)
		return
	}
	if ev.GetSessionId() == "" {
		log.Error("authn: SessionRevoked without session_id skipped")
		return
	}
	until := ev.GetAccessExpireTime().AsTime()
	if !ev.GetAccessExpireTime().IsValid() || ev.GetAccessExpireTime() == nil {
		// Without the expiry, assume the longest a token can live.
		until = time.Now().Add(DefaultRevocationLookback)
	}
	d.Revoke(ev.GetSessionId(), until)
}
