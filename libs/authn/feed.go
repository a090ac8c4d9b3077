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
	connected func() bool
	now       func() time.Time

	// applied is the stream sequence of the last revocation applied.
	applied atomic.Uint64
	mu      sync.Mutex
	proven  time.Time
}

func newFeedHealth(maxLag time.Duration, connected func() bool) *feedHealth {
	if maxLag <= 0 {
		maxLag = DefaultFeedMaxLag
	}
	h := &feedHealth{maxLag: maxLag, connected: connected, now: time.Now}
	h.proven = h.now()
	return h
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
// connection is up now, and the feed was proven caught up within maxLag.
func (h *feedHealth) current() bool {
	if h.connected != nil && !h.connected() {
		return false
	}
	h.mu.Lock()
	proven := h.proven
	h.mu.Unlock()
	return h.now().Sub(proven) < h.maxLag
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

// connectedFunc reports nc's state; nil (a test's fake) counts as up.
func connectedFunc(nc *nats.Conn) func() bool {
	if nc == nil {
		return nil
	}
	return nc.IsConnected
}
