package authn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
)

// DenylistGrace is how long past the expiry of a session's last access
// token the denylist still refuses the session. It covers the verifier's
// leeway on exp (DefaultLeeway) and clock skew between the credential
// service and this one.
const DenylistGrace = 2 * time.Minute

// denylistSweepEvery bounds how often Revoke scans for entries to forget.
const denylistSweepEvery = time.Minute

// Denylist is the set of revoked sessions whose access tokens may still be
// unexpired. An entry is kept only until the last of those tokens expires
// (plus DenylistGrace), so the set stays as small as the number of
// sessions revoked within one access-token lifetime. It is safe for
// concurrent use.
type Denylist struct {
	clock clock.Clock

	mu        sync.RWMutex
	until     map[string]time.Time
	lastSweep time.Time

	// feed, once FollowRevocations feeds the list, says whether it is
	// caught up.
	feed atomic.Pointer[feedHealth]
}

// NewDenylist returns an empty denylist reading the time from c (nil: the
// system clock).
func NewDenylist(c clock.Clock) *Denylist {
	if c == nil {
		c = clock.System{}
	}
	return &Denylist{clock: c, until: map[string]time.Time{}, lastSweep: c.Now()}
}

// Revoke refuses the session's tokens until until, the latest expiry of an
// access token of the session. Revoking a session again keeps the later
// of the two times.
func (d *Denylist) Revoke(sessionID string, until time.Time) {
	now := d.clock.Now()
	until = until.Add(DenylistGrace)
	if sessionID == "" || !until.After(now) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.until[sessionID]; !ok || until.After(old) {
		d.until[sessionID] = until
	}
	if now.Sub(d.lastSweep) >= denylistSweepEvery {
		d.sweepLocked(now)
	}
}

// Revoked reports whether the session is revoked.
func (d *Denylist) Revoked(sessionID string) bool {
	d.mu.RLock()
	until, ok := d.until[sessionID]
	d.mu.RUnlock()
	return ok && d.clock.Now().Before(until)
}

// Current reports whether the list holds every revocation published so
// far, as far as its feed can prove: false while the NATS connection is
// down or the feed has not been shown caught up with the stream for its
// maximum lag (FollowOptions.MaxLag). A Verifier then does not trust the
// list alone. A list no feed follows (filled by hand) is always current.
func (d *Denylist) Current() bool {
	h := d.feed.Load()
	return h == nil || h.current()
}

func (d *Denylist) attachFeed(h *feedHealth) { d.feed.Store(h) }

// Sweep forgets the sessions whose tokens have all expired. Revoke does it
// now and then by itself; FollowRevocations also calls it periodically.
func (d *Denylist) Sweep() {
	now := d.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweepLocked(now)
}

func (d *Denylist) sweepLocked(now time.Time) {
	// Copy the survivors into a new map: deleting from a Go map never
	// gives its buckets back, so a burst of revocations (everyone logged
	// out after an incident) would otherwise stay allocated for good.
	kept := make(map[string]time.Time, len(d.until)/2)
	for id, until := range d.until {
		if now.Before(until) {
			kept[id] = until
		}
	}
	d.until = kept
	d.lastSweep = now
}

// Len is how many sessions the list holds.
func (d *Denylist) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.until)
}
