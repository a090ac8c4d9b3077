// Package clock lets code ask for the time through an interface, so tests
// can move time forward instead of sleeping (lockout windows, link expiry,
// inactivity sweeps).
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Normalize drops what a database cannot keep: the monotonic reading, the
// location and anything finer than a microsecond (PostgreSQL's precision).
// Every time Latchkey stores passes through it, so a value read back
// compares equal to the value written, in both stores.
func Normalize(t time.Time) time.Time {
	return t.UTC().Round(0).Truncate(time.Microsecond)
}

// System is the real clock.
type System struct{}

// Now returns the current time, normalized.
func (System) Now() time.Time { return Normalize(time.Now()) }

// Fake is a clock that only moves when told (and, made by NewStepping, a
// little at every reading). It is safe for concurrent use.
type Fake struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: Normalize(t)} }

// NewStepping returns a fake clock set to t that moves on by step (at
// least a microsecond, the precision times are kept at) after every
// reading: two things that happen one after the other never get the same
// time, as they would not on a real clock, while the test still moves
// time by hours at once.
func NewStepping(t time.Time, step time.Duration) *Fake {
	return &Fake{now: Normalize(t), step: max(step, time.Microsecond)}
}

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now
	if f.step > 0 {
		f.now = Normalize(f.now.Add(f.step))
	}
	return now
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = Normalize(t)
}

// Advance moves the clock forward by d and returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = Normalize(f.now.Add(d))
	return f.now
}

// Wait waits for d, a wake-up on wake, or the end of ctx; it reports false
// when ctx ended. Background loops (the outbox relay, the e-mail worker)
// sleep with it between rounds, so work that arrives wakes them early.
func Wait(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
