package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually and Consistently look.
const pollEvery = 10 * time.Millisecond

// Eventually calls cond until it returns nil, and fails t with cond's last
// error when that has not happened within timeout. It is how a test waits
// for work done in the background (a relay, a consumer, a worker): it
// returns as soon as the work is seen done, instead of sleeping for a time
// that is too long on a fast machine and too short on a loaded one.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", timeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// Consistently calls cond for d and fails t as soon as it returns an
// error. It is for "nothing (more) happens", which no signal announces:
// unlike a sleep followed by one check, a wrong change fails the test when
// it shows. Where the work announces its end (a counter reaching its
// number, a queue drained), wait for that with Eventually and check once
// instead.
func Consistently(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := cond(); err != nil {
			t.Fatalf("within %s: %v", d, err)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(pollEvery)
	}
}
