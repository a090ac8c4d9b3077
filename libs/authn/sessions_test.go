package authn

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
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
	h := newFeedHealth(time.Hour, 0, func() bool { mu.Lock(); defer mu.Unlock(); return up }, nil)
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
	var reconnects uint64
	h := newFeedHealth(2*time.Second, 10*time.Second, func() bool { return up }, func() uint64 { return reconnects })
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
	// The connection dropped and came back between two looks: caught
	// up or not, the feed settles (the outage's revocations may still be
	// on their way from the credential service's outbox).
	reconnects++
	h.observe(7)
	if h.current() {
		t.Fatal("current right after a reconnection")
	}
	now = now.Add(9 * time.Second)
	h.observe(7)
	if h.current() {
		t.Fatal("current 9s after a reconnection, within the 10s settling time")
	}
	now = now.Add(time.Second)
	h.observe(7)
	if !h.current() {
		t.Fatal("not current once settled and caught up")
	}
}

// With NATS stopped, a followed denylist stops being current at once, so
// tokens are checked with the credential service rather than admitted on
// a list that cannot learn of new revocations; once NATS is back and the
// feed has applied what was published meanwhile, it is current again.
func TestFollowRevocations_NATSStoppedAndBack_CurrentOnlyWhileCaughtUp(t *testing.T) {
	storeDir := t.TempDir()
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: storeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown() }()
	u, err := url.Parse(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
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
	if err := natsx.EnsureStreams(ctx, js, natsx.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	d := NewDenylist(nil)
	if err := FollowRevocations(ctx, js, d, FollowOptions{Settle: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// Kept current by the probes past the lag bound.
	time.Sleep(DefaultFeedMaxLag + time.Second)
	waitCurrent(t, d, true, 5*time.Second, "a connected, caught-up feed is not current")

	ns.Shutdown()
	waitCurrent(t, d, false, time.Second, "the list is still current 1s after NATS stopped")

	ns, err = embedded.Start(embedded.Options{Port: port, StoreDir: storeDir})
	if err != nil {
		t.Fatal(err)
	}
	// What the credential service's outbox relays once NATS is back.
	data, err := proto.Marshal(&eventsv1.SessionRevoked{SessionId: "sess-during", AccessExpireTime: timestamppb.New(time.Now().Add(10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	pub := func() error {
		_, err := natsx.PublishMsg(ctx, js, SessionRevokedSubject, "rev-during", data, nil)
		return err
	}
	for err := pub(); err != nil; err = pub() {
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !d.Revoked("sess-during") {
		if time.Now().After(deadline) {
			t.Fatal("the revocation published after NATS came back is not applied after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d.Current() {
		t.Fatal("current at once after NATS came back: the outage's revocations may not have been relayed yet")
	}
	waitCurrent(t, d, true, 10*time.Second, "the list is not current again 10s after NATS came back")
}

// waitCurrent fails with msg unless d.Current() becomes want within wait.
func waitCurrent(t *testing.T, d *Denylist, want bool, wait time.Duration, msg string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for d.Current() != want {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
