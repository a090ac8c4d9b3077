package authn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestSigningKeyRotated_RoundTrip(t *testing.T) {
	b, err := proto.Marshal(&eventsv1.SigningKeyRotated{Meta: &eventsv1.EventMeta{EventId: "ev-1"}, KeyId: "new", RetiredKeyIds: []string{"old-1", "old-2"}})
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
	b, err := proto.Marshal(&eventsv1.SigningKeyRotated{Meta: &eventsv1.EventMeta{EventId: "ev-1"}, KeyId: "kept", RetiredKeyIds: []string{"leaked"}})
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

// keyFeed is a CachedKeys over a JWKS the test changes, on a fake clock.
type keyFeed struct {
	k1, k2    testKey
	published []JWK
	fetches   int
	clock     *clock.Fake
	cache     *CachedKeys
}

func newKeyFeed(t *testing.T) *keyFeed {
	f := &keyFeed{k1: newTestKey(t, "k1"), k2: newTestKey(t, "k2"), clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	f.published = []JWK{NewJWK(f.k1.kid, f.k1.public())}
	f.cache = NewCachedKeys(func(context.Context) ([]JWK, error) { f.fetches++; return f.published, nil }, CachedKeysOptions{Clock: f.clock})
	return f
}

func TestCachedKeys_InvalidateFetchesAgainAtOnce(t *testing.T) {
	f := newKeyFeed(t)
	k1, k2, c, ctx := f.k1, f.k2, f.cache, context.Background()
	if _, err := c.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	f.published = []JWK{NewJWK(k2.kid, k2.public())}
	// Within MinRefresh a refresh does not fetch...
	if keys, _ := c.Refresh(ctx); keys[k2.kid] != nil || f.fetches != 1 {
		t.Fatalf("Refresh within MinRefresh fetched (%d f.fetches)", f.fetches)
	}
	// ...but after an invalidation the next call does.
	c.InvalidateKeys()
	keys, err := c.Keys(ctx)
	if err != nil || keys[k2.kid] == nil || keys[k1.kid] != nil || f.fetches != 2 {
		t.Fatalf("after InvalidateKeys: %v, %v (%d f.fetches); want k2 alone", keys, err, f.fetches)
	}
}

// The fetch after an invalidation may reach a credential replica that has
// not reloaded yet: a token of the new key then f.fetches again a second
// later, not MinRefresh later.
func TestCachedKeys_AfterInvalidateAnUnknownKidFetchesAgainWithinASecond(t *testing.T) {
	f := newKeyFeed(t)
	k2, c, clk, ctx := f.k2, f.cache, f.clock, context.Background()
	c.InvalidateKeys()
	if keys, _ := c.Keys(ctx); keys[k2.kid] != nil {
		t.Fatal("k2 before it was published")
	}
	f.published = append(f.published, NewJWK(k2.kid, k2.public()))
	if keys, _ := c.Refresh(ctx); keys[k2.kid] != nil || f.fetches != 1 {
		t.Fatalf("a refresh at once fetched (%d f.fetches): unknown kids must stay rate-limited", f.fetches)
	}
	clk.Advance(time.Second)
	if keys, _ := c.Refresh(ctx); keys[k2.kid] == nil {
		t.Fatalf("k2 still unknown a second after the invalidation (%d f.fetches)", f.fetches)
	}
	// Long after the rotation, MinRefresh applies again.
	clk.Advance(DefaultKeysMinRefresh)
	_, _ = c.Refresh(ctx)
	n := f.fetches
	clk.Advance(time.Second)
	if _, _ = c.Refresh(ctx); f.fetches != n {
		t.Fatal("unknown kids fetch every second long after the invalidation")
	}
}

// staleKeyFeed attaches to r a key-rotation feed whose connection is down,
// as NATS being stopped makes it; it returns a switch to bring it back.
func staleKeyFeed(r *RetiredKeys) (reconnect func()) {
	var up atomic.Bool
	r.attachFeed(newFeedHealth(time.Hour, 0, up.Load, nil))
	return func() { up.Store(true) }
}

// A key retired while NATS is down reaches no verifier through the
// events: while the feed is not current, a token's key must be one the
// credential service publishes now (fetched at most once a second,
// whatever the number of tokens), and when the keys cannot be fetched the
// answer is Unavailable, not the cached keys.
func TestVerify_KeyFeedDown_TrustsOnlyTheKeysPublishedNow(t *testing.T) {
	f := newKeyFeed(t)
	ctx := context.Background()
	var fail atomic.Bool
	fetch := func(context.Context) ([]JWK, error) {
		f.fetches++
		if fail.Load() {
			return nil, errors.New("credential service unreachable")
		}
		return f.published, nil
	}
	f.cache = NewCachedKeys(fetch, CachedKeysOptions{Clock: f.clock})
	f.published = []JWK{NewJWK(f.k1.kid, f.k1.public()), NewJWK(f.k2.kid, f.k2.public())}
	retired := NewRetiredKeys()
	v, err := NewVerifier(VerifierOptions{Issuer: testIssuer, Audience: testAudience, Keys: f.cache, RetiredKeys: retired})
	if err != nil {
		t.Fatal(err)
	}
	c := validClaims(time.Now())
	retiredTok, keptTok := f.k1.sign(t, c, nil), f.k2.sign(t, c, nil)
	if _, err := v.Verify(ctx, retiredTok); err != nil {
		t.Fatalf("before the retirement: %v", err)
	}
	reconnect := staleKeyFeed(retired)
	// k1 retired by the credential service; its event is lost with NATS.
	f.published = []JWK{NewJWK(f.k2.kid, f.k2.public())}
	f.clock.Advance(FreshKeysAge)
	fetches := f.fetches

	for _, tc := range []struct {
		name   string
		token  string
		fail   bool
		reason string
	}{
		{"the retired key's token", retiredTok, false, ReasonAccessTokenInvalid},
		{"the kept key's token", keptTok, false, ""},
		{"the retired key's token again", retiredTok, false, ReasonAccessTokenInvalid},
		{"keys that cannot be fetched", keptTok, true, ReasonKeysUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fail {
				fail.Store(true)
				f.clock.Advance(FreshKeysAge)
			}
			_, err := v.Verify(ctx, tc.token)
			var e *errs.Error
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("Verify = %v; want the token admitted", err)
			case tc.reason != "" && (!errors.As(err, &e) || e.Reason != tc.reason):
				t.Fatalf("Verify = %v; want %s", err, tc.reason)
			}
		})
	}
	// Four verifications, two fetches: one a second at most.
	if got := f.fetches - fetches; got != 2 {
		t.Fatalf("%d fetches; want 2, one per second", got)
	}

	// Back on the events, the cached keys are trusted again (a retirement
	// now arrives as an event).
	reconnect()
	fail.Store(false)
	if _, err := v.Verify(ctx, keptTok); err != nil {
		t.Fatalf("feed current again: %v", err)
	}
}
