package testkit

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records a failure instead of ending the test, so the helpers'
// failures can be checked.
type fakeTB struct {
	testing.TB
	failed atomic.Bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(string, ...any) {
	f.failed.Store(true)
	panic(f) // like runtime.Goexit: nothing after Fatalf runs
}

func run(f *fakeTB, fn func()) {
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	fn()
}

func TestEventually_ReturnsOnceTrue_FailsAfterTimeout(t *testing.T) {
	var calls atomic.Int32
	Eventually(t, 5*time.Second, func() error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls.Load() != 3 {
		t.Fatalf("cond called %d times, want 3", calls.Load())
	}
	f := &fakeTB{TB: t}
	start := time.Now()
	run(f, func() { Eventually(f, 50*time.Millisecond, func() error { return errors.New("never") }) })
	if !f.failed.Load() || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("failed=%v after %s, want a failure after the timeout", f.failed.Load(), time.Since(start))
	}
}

func TestConsistently_FailsAsSoonAsCondFails(t *testing.T) {
	var calls atomic.Int32
	Consistently(t, 50*time.Millisecond, func() error { calls.Add(1); return nil })
	if calls.Load() < 2 {
		t.Fatalf("cond called %d times in 50ms, want it polled", calls.Load())
	}
	f := &fakeTB{TB: t}
	start := time.Now()
	run(f, func() { Consistently(f, time.Minute, func() error { return errors.New("changed") }) })
	if !f.failed.Load() || time.Since(start) > 10*time.Second {
		t.Fatalf("failed=%v after %s, want an early failure", f.failed.Load(), time.Since(start))
	}
}
