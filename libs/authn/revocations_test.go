package authn

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// revocationFeed is a stream of the test's own, shaped like the events
// stream, and a way to publish SessionRevoked to it.
type revocationFeed struct {
	js      jetstream.JetStream
	opts    FollowOptions
	publish func(sessionID string, until time.Time)
}

func newRevocationFeed(t *testing.T) revocationFeed {
	t.Helper()
	ctx := context.Background()
	srv := testkit.NATS(t)
	nc, err := natsx.Connect(ctx, srv.URL, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	prefix := testkit.UniquePrefix(t)
	cfg := natsx.EventsStream(natsx.StreamOptions{})
	cfg.Name = testkit.StreamName(t, "EVENTS")
	cfg.Subjects = []string{prefix + ".events.>"}
	if _, err := natsx.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), cfg.Name) })
	subject := prefix + ".events.session.revoked"
	f := revocationFeed{js: js, opts: FollowOptions{Stream: cfg.Name, Subject: subject}}
	n := 0
	f.publish = func(sessionID string, until time.Time) {
		t.Helper()
		n++
		data, err := proto.Marshal(&eventsv1.SessionRevoked{
			SessionId: sessionID, AccountId: "acct-1", Reason: "logout",
			AccessExpireTime: timestamppb.New(until),
		})
		if err != nil {
			t.Fatal(err)
		}
		// An unrelated event on the same stream must be ignored.
		if _, err := natsx.PublishMsg(ctx, js, prefix+".events.session.login_succeeded", t.Name()+"-other-"+sessionID, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := natsx.PublishMsg(ctx, js, subject, t.Name()+"-"+sessionID, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestFollowRevocations_RefusesARevokedSessionWithinOneSecond(t *testing.T) {
	feed := newRevocationFeed(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	k := newTestKey(t, "k1")
	d := NewDenylist(nil)
	v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clock.System{}, d)
	c := validClaims(time.Now())
	c.SessionID = "sess-live"
	tok := k.sign(t, c, nil)

	if err := FollowRevocations(ctx, feed.js, d, feed.opts); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	feed.publish("sess-live", c.ExpiresAt.Time)
	refusedWithinOneSecond(t, v, tok, ReasonSessionRevoked)
}

// refusedWithinOneSecond fails unless v refuses tok with reason within a
// second.
func refusedWithinOneSecond(t *testing.T, v *Verifier, tok, reason string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		_, err := v.Verify(context.Background(), tok)
		if reasonOf(err) == reason {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still not refused with %s after 1s (err = %v)", reason, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowRevocations_RestartRebuildsTheListBeforeReturning(t *testing.T) {
	feed := newRevocationFeed(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	until := time.Now().Add(10 * time.Minute)
	feed.publish("sess-a", until)
	feed.publish("sess-b", until)
	feed.publish("sess-expired", time.Now().Add(-time.Hour)) // nothing left to refuse

	// A service starting now, after the revocations.
	d := NewDenylist(nil)
	if err := FollowRevocations(ctx, feed.js, d, feed.opts); err != nil {
		t.Fatal(err)
	}
	if !d.Revoked("sess-a") || !d.Revoked("sess-b") {
		t.Fatal("revocations already in the stream were not applied when FollowRevocations returned")
	}
	if d.Revoked("sess-expired") || d.Len() != 2 {
		t.Fatalf("Len = %d; the revocation whose tokens expired was kept", d.Len())
	}
}

func TestFollowRevocations_MissingStreamIsAnError(t *testing.T) {
	feed := newRevocationFeed(t)
	opts := feed.opts
	opts.Stream = "NO_SUCH_STREAM_" + testkit.UniquePrefix(t)
	if err := FollowRevocations(context.Background(), feed.js, NewDenylist(nil), opts); err == nil {
		t.Fatal("no error for a missing stream")
	}
}
