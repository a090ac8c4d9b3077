package authn

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestSigningKeyRotated_RoundTrip(t *testing.T) {
	msg := NewSigningKeyRotated(&eventsv1.EventMeta{EventId: "ev-1"}, "new", []string{"old-1", "old-2"})
	if got := string(msg.ProtoReflect().Descriptor().FullName()); got != "latchkey.events.v1.SigningKeyRotated" {
		t.Fatalf("type %s", got)
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseSigningKeyRotated(b)
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventID != "ev-1" || ev.KeyID != "new" || !slices.Equal(ev.Retired, []string{"old-1", "old-2"}) {
		t.Fatalf("parsed %+v", ev)
	}
	if _, err := ParseSigningKeyRotated([]byte{0xff}); err == nil {
		t.Fatal("garbage parsed")
	}
}

// countingKeys is a KeySource that counts invalidations.
type countingKeys struct {
	StaticKeys
	invalidated atomic.Int32
}

func (c *countingKeys) InvalidateKeys() { c.invalidated.Add(1) }

func TestFollowKeyRotations_RefusesARetiredKeyWithinOneSecond(t *testing.T) {
	feed := newRevocationFeed(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := feed.opts
	opts.Subject = strings.TrimSuffix(opts.Subject, "session.revoked") + "signing_key.rotated"

	leaked, kept := newTestKey(t, "leaked"), newTestKey(t, "kept")
	keys := &countingKeys{StaticKeys: StaticKeys{leaked.kid: leaked.public(), kept.kid: kept.public()}}
	retired := NewRetiredKeys()
	v, err := NewVerifier(VerifierOptions{Issuer: testIssuer, Audience: testAudience, Keys: keys, RetiredKeys: retired})
	if err != nil {
		t.Fatal(err)
	}
	c := validClaims(time.Now())
	leakedTok, keptTok := leaked.sign(t, c, nil), kept.sign(t, c, nil)
	if err := FollowKeyRotations(ctx, feed.js, retired, keys, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, leakedTok); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	b, err := proto.Marshal(NewSigningKeyRotated(&eventsv1.EventMeta{EventId: "ev-1"}, "kept", []string{"leaked"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.PublishMsg(ctx, feed.js, opts.Subject, t.Name(), b, nil); err != nil {
		t.Fatal(err)
	}
	refusedWithinOneSecond(t, v, leakedTok, ReasonAccessTokenInvalid)
	if _, err := v.Verify(ctx, keptTok); err != nil {
		t.Fatalf("token of the key kept: %v", err)
	}
	if keys.invalidated.Load() != 1 {
		t.Fatalf("the key source was invalidated %d times; want 1", keys.invalidated.Load())
	}

	// A service starting after the rotation refuses the key too.
	late := NewRetiredKeys()
	if err := FollowKeyRotations(ctx, feed.js, late, StaticKeys{}, opts); err != nil {
		t.Fatal(err)
	}
	if !late.Retired("leaked") || late.Retired("kept") {
		t.Fatal("a follower starting after the rotation did not apply it")
	}
}

func TestCachedKeys_InvalidateFetchesAgainAtOnce(t *testing.T) {
	k1, k2 := newTestKey(t, "k1"), newTestKey(t, "k2")
	published := []JWK{NewJWK(k1.kid, k1.public())}
	fetches := 0
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := NewCachedKeys(func(context.Context) ([]JWK, error) { fetches++; return published, nil }, CachedKeysOptions{Clock: clk})
	ctx := context.Background()
	if _, err := c.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	published = []JWK{NewJWK(k2.kid, k2.public())}
	// Within MinRefresh a refresh does not fetch...
	if keys, _ := c.Refresh(ctx); keys[k2.kid] != nil || fetches != 1 {
		t.Fatalf("Refresh within MinRefresh fetched (%d fetches)", fetches)
	}
	// ...but after an invalidation the next call does.
	c.InvalidateKeys()
	keys, err := c.Keys(ctx)
	if err != nil || keys[k2.kid] == nil || keys[k1.kid] != nil || fetches != 2 {
		t.Fatalf("after InvalidateKeys: %v, %v (%d fetches); want k2 alone", keys, err, fetches)
	}
}
