package authn

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
)

// fakeSessions is the credential service's answer about sessions.
type fakeSessions struct {
	mu    sync.Mutex
	live  map[string]bool
	err   error
	calls int
}

func (f *fakeSessions) SessionLive(_ context.Context, tenantID, sessionID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	return f.live[tenantID+"/"+sessionID], nil
}

// staleFeed attaches to d a feed whose connection is down, as NATS being
// stopped makes it; it returns a switch to bring it back.
func staleFeed(d *Denylist) (reconnect func()) {
	var mu sync.Mutex
	up := false
	h := newFeedHealth(time.Hour, func() bool { mu.Lock(); defer mu.Unlock(); return up })
	d.attachFeed(h)
	return func() { mu.Lock(); up = true; mu.Unlock() }
}

// While the revocation feed is down the denylist is not trusted alone:
// the credential service is asked about each session (and its answer
// kept a second); a revoked session is refused, a live one admitted, and
// when no one can tell the token is refused as Unavailable, never
// admitted.
func TestVerify_FeedDown_AsksTheCredentialServiceInsteadOfTheList(t *testing.T) {
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	tokenOf := func(sid string) string {
		c := validClaims(testNow)
		c.SessionID = sid
		return k.sign(t, c, nil)
	}
	newVerifier := func(t *testing.T, sessions SessionChecker) (*Verifier, *Denylist) {
		d := NewDenylist(clk)
		v, err := NewVerifier(VerifierOptions{Issuer: testIssuer, Audience: testAudience, Keys: StaticKeys{k.kid: k.public()},
			Clock: clk, Denylist: d, Sessions: sessions})
		if err != nil {
			t.Fatal(err)
		}
		return v, d
	}

	t.Run("revoked and live sessions", func(t *testing.T) {
		f := &fakeSessions{live: map[string]bool{"tenant-1/sess-live": true}}
		v, d := newVerifier(t, f)
		reconnect := staleFeed(d)
		if _, err := v.Verify(context.Background(), tokenOf("sess-revoked")); reasonOf(err) != ReasonSessionRevoked {
			t.Fatalf("revoked session while the feed is down: %v, want %s", err, ReasonSessionRevoked)
		}
		if _, err := v.Verify(context.Background(), tokenOf("sess-live")); err != nil {
			t.Fatalf("live session while the feed is down: %v", err)
		}
		// A second look within the second is answered from the cache.
		calls := f.calls
		if _, err := v.Verify(context.Background(), tokenOf("sess-live")); err != nil || f.calls != calls {
			t.Fatalf("second look: err %v, %d calls, want none", err, f.calls-calls)
		}
		// ...and after it the credential service is asked again, and
		// now says the session is revoked.
		v.sessions.now = func() time.Time { return time.Now().Add(liveSessionTTL) }
		f.mu.Lock()
		f.live["tenant-1/sess-live"] = false
		f.mu.Unlock()
		if _, err := v.Verify(context.Background(), tokenOf("sess-live")); reasonOf(err) != ReasonSessionRevoked {
			t.Fatalf("after the cache's second: %v, want %s", err, ReasonSessionRevoked)
		}
		// The answer stays on the list once the feed is back, before its
		// event arrives.
		reconnect()
		calls = f.calls
		if _, err := v.Verify(context.Background(), tokenOf("sess-revoked")); reasonOf(err) != ReasonSessionRevoked || f.calls != calls {
			t.Fatalf("feed back: %v (%d calls), want %s from the list", err, f.calls-calls, ReasonSessionRevoked)
		}
	})

	for _, tc := range []struct {
		name     string
		sessions SessionChecker
	}{
		{"the credential service does not answer", &fakeSessions{err: errors.New("connection refused")}},
		{"no one to ask", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, d := newVerifier(t, tc.sessions)
			staleFeed(d)
			_, err := v.Verify(context.Background(), tokenOf("sess-live"))
			if !errs.Is(err, errs.KindUnavailable) || reasonOf(err) != ReasonRevocationsUnavailable {
				t.Fatalf("err = %v, want Unavailable %s", err, ReasonRevocationsUnavailable)
			}
		})
	}

	t.Run("a current feed is trusted alone", func(t *testing.T) {
		f := &fakeSessions{}
		v, d := newVerifier(t, f)
		staleFeed(d)()
		if _, err := v.Verify(context.Background(), tokenOf("sess-live")); err != nil || f.calls != 0 {
			t.Fatalf("err %v, %d calls; want the token admitted without asking", err, f.calls)
		}
	})
}

// A feed is current only while it is connected and was recently shown to
// have applied the stream's last revocation.
func TestFeedHealth_CurrentOnlyWithRecentProof(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	up := true
	h := newFeedHealth(2*time.Second, func() bool { return up })
	h.now = func() time.Time { return now }
	h.observe(0)
	if !h.current() {
		t.Fatal("a caught-up, connected feed is not current")
	}
	up = false
	if h.current() {
		t.Fatal("a disconnected feed is current")
	}
	up = true
	// The stream has revocation 7; the feed applied up to 5: behind.
	h.applyUpTo(5)
	now = now.Add(time.Second)
	h.observe(7)
	if !h.current() {
		t.Fatal("behind for 1s of a 2s bound: not yet stale")
	}
	now = now.Add(1500 * time.Millisecond)
	h.observe(7)
	if h.current() {
		t.Fatal("behind for 2.5s: still current")
	}
	h.applyUpTo(7)
	h.observe(7)
	if !h.current() {
		t.Fatal("caught up again: not current")
	}
	h.applyUpTo(3) // an older sequence never moves it back
	if h.applied.Load() != 7 {
		t.Fatalf("applied = %d, want 7", h.applied.Load())
	}
}

// With NATS stopped, a followed denylist stops being current at once, so
// tokens are checked with the credential service rather than admitted on
// a list that cannot learn of new revocations.
func TestFollowRevocations_NATSStopped_ListNoLongerCurrent(t *testing.T) {
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, err := natsx.Connect(ctx, ns.ClientURL(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsx.EnsureStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	d := NewDenylist(nil)
	if err := FollowRevocations(ctx, js, d, FollowOptions{}); err != nil {
		t.Fatal(err)
	}
	// Proven current by the probes, for longer than the lag bound.
	deadline := time.Now().Add(DefaultFeedMaxLag + time.Second)
	for time.Now().Before(deadline) {
		if !d.Current() {
			t.Fatal("a connected, caught-up feed is not current")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ns.Shutdown()
	deadline = time.Now().Add(time.Second)
	for d.Current() {
		if time.Now().After(deadline) {
			t.Fatal("the list is still current 1s after NATS stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
