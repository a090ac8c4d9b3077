package authn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultFeedMaxLag is how long a revocation feed may go without proof
// that it has applied every revocation in the stream before its denylist
// is no longer trusted alone. A few probes fit in it, so one slow answer
// from the server does not count as an outage.
const DefaultFeedMaxLag = 2 * time.Second

// DefaultFeedSettle is how long after NATS comes back a feed still does
// not count as current, however caught up with the stream it looks: the
// revocations made during the outage wait in the credential service's
// outbox, whose relay retries at most every 10 s, and only reach the
// stream then. Until they have, the credential service is asked.
const DefaultFeedSettle = 15 * time.Second

// feedProbeEvery is how often a follower asks the stream for its last
// revocation to prove it is caught up.
const feedProbeEvery = 400 * time.Millisecond

// feedHealth is what a follower proves about its denylist: that its
// connection is up and that, at a recent probe, it had applied the
// stream's last revocation. It reads the system's monotonic time, not an
// injected clock: it measures the infrastructure, which a test's fake
// clock does not move.
type feedHealth struct {
	maxLag    time.Duration
	settle    time.Duration
	connected func() bool
	// reconnects counts the connection's reconnections, so that even an
	// outage shorter than a probe's interval is noticed.
	reconnects func() uint64
	now        func() time.Time

	// applied is the stream sequence of the last revocation applied.
	applied atomic.Uint64
	mu      sync.Mutex
	proven  time.Time
	// backAt is when the connection last came back (zero: never lost).
	backAt        time.Time
	seenReconnect uint64
}

func newFeedHealth(maxLag, settle time.Duration, connected func() bool, reconnects func() uint64) *feedHealth {
	if maxLag <= 0 {
		maxLag = DefaultFeedMaxLag
	}
	if settle <= 0 {
		settle = DefaultFeedSettle
	}
	h := &feedHealth{maxLag: maxLag, settle: settle, connected: connected, reconnects: reconnects, now: time.Now}
	h.proven = h.now()
	if reconnects != nil {
		h.seenReconnect = reconnects()
	}
	return h
}

// noteReconnects starts the settling time when the connection has come
// back since the last look.
func (h *feedHealth) noteReconnects() {
	if h.reconnects == nil {
		return
	}
	n := h.reconnects()
	h.mu.Lock()
	defer h.mu.Unlock()
	if n != h.seenReconnect {
		h.seenReconnect = n
		h.backAt = h.now()
	}
}

// applyUpTo records that the revocation at stream sequence seq is applied.
func (h *feedHealth) applyUpTo(seq uint64) {
	for {
		old := h.applied.Load()
		if seq <= old || h.applied.CompareAndSwap(old, seq) {
			return
		}
	}
}

// observe records a probe's answer: last is the stream sequence of the
// newest revocation in the stream (0: none). Only a caught-up feed counts
// as proof.
func (h *feedHealth) observe(last uint64) {
	if h.applied.Load() < last {
		return
	}
	h.mu.Lock()
	h.proven = h.now()
	h.mu.Unlock()
}

// current reports whether the denylist can be trusted alone: the
// connection is up now and has been for the settling time since it last
// came back, and the feed was proven caught up within maxLag.
func (h *feedHealth) current() bool {
	if h.connected != nil && !h.connected() {
		return false
	}
	h.noteReconnects()
	now := h.now()
	h.mu.Lock()
	proven, backAt := h.proven, h.backAt
	h.mu.Unlock()
	if !backAt.IsZero() && now.Sub(backAt) < h.settle {
		return false
	}
	return now.Sub(proven) < h.maxLag
}

// probe proves the feed caught up every feedProbeEvery until ctx ends, by
// comparing the stream's last revocation with the last one applied.
func (h *feedHealth) probe(ctx context.Context, stream jetstream.Stream, subject string) {
	tick := time.NewTicker(feedProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if h.connected != nil && !h.connected() {
			continue
		}
		h.noteReconnects()
		pctx, cancel := context.WithTimeout(ctx, feedProbeEvery)
		last, err := stream.GetLastMsgForSubject(pctx, subject)
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			h.observe(0)
		case err == nil:
			h.observe(last.Sequence)
		}
	}
}

// connFuncs returns nc's state and reconnection count for feedHealth;
// nil for a nil nc (a test's fake JetStream), which counts as always up.
func connFuncs(nc *nats.Conn) (connected func() bool, reconnects func() uint64) {
	if nc == nil {
		return nil, nil
	}
	return nc.IsConnected, func() uint64 { return nc.Stats().Reconnects }
}
