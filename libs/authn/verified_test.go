package authn

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
)

// A token verified once is not re-verified while it lives, but whatever
// could have changed since is still checked at every call: its expiry,
// its key (retired, or no longer the one published under its kid) and its
// session.
func TestVerify_RememberedTokenStillChecksExpiryKeyAndSession(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "k1")
	t.Run("expiry", func(t *testing.T) {
		clk := clock.NewFake(testNow)
		v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clk, NewDenylist(clk))
		tok := k.sign(t, validClaims(testNow), nil)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10*time.Minute + 20*time.Second)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
		clk.Advance(15 * time.Second)
		if _, err := v.Verify(ctx, tok); reasonOf(err) != ReasonAccessTokenExpired {
			t.Fatalf("35s past exp: %v, want %s", err, ReasonAccessTokenExpired)
		}
	})
	t.Run("retired key", func(t *testing.T) {
		retired := NewRetiredKeys()
		v, err := NewVerifier(VerifierOptions{Issuer: testIssuer, Audience: testAudience, Keys: StaticKeys{k.kid: k.public()},
			Clock: clock.NewFake(testNow), RetiredKeys: retired})
		if err != nil {
			t.Fatal(err)
		}
		tok := k.sign(t, validClaims(testNow), nil)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		retired.Retire(k.kid)
		if _, err := v.Verify(ctx, tok); reasonOf(err) != ReasonAccessTokenInvalid {
			t.Fatalf("key retired after the first call: %v, want %s", err, ReasonAccessTokenInvalid)
		}
	})
	t.Run("kid now names another key", func(t *testing.T) {
		keys := StaticKeys{k.kid: k.public()}
		v := newTestVerifier(t, keys, clock.NewFake(testNow), nil)
		tok := k.sign(t, validClaims(testNow), nil)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		keys[k.kid] = newTestKey(t, k.kid).public()
		if _, err := v.Verify(ctx, tok); reasonOf(err) != ReasonAccessTokenInvalid {
			t.Fatalf("kid published with another key: %v, want %s", err, ReasonAccessTokenInvalid)
		}
	})
	t.Run("revoked session", func(t *testing.T) {
		clk := clock.NewFake(testNow)
		d := NewDenylist(clk)
		v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clk, d)
		tok := k.sign(t, validClaims(testNow), nil)
		for range 2 { // the second call is served from memory
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		d.Revoke("sess-1", testNow.Add(10*time.Minute))
		if _, err := v.Verify(ctx, tok); reasonOf(err) != ReasonSessionRevoked {
			t.Fatalf("revoked after two calls: %v, want %s", err, ReasonSessionRevoked)
		}
	})
	t.Run("each call its own principal", func(t *testing.T) {
		v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clock.NewFake(testNow), nil)
		tok := k.sign(t, validClaims(testNow), nil)
		p1, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		p1.TenantCode = "acme"
		p1.Roles = append(p1.Roles, "ADMIN")
		p2, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p2.TenantCode != "" || len(p2.Roles) != 1 {
			t.Fatalf("a caller's change to its principal reached the next call: %+v", p2)
		}
	})
}
