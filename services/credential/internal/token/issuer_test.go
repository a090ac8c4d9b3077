package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

const (
	issuerURL = "https://id.latchkey.test"
	audience  = "latchkey"
)

var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

func newIssuer(t *testing.T, store token.KeyStore, clk clock.Clock, opts token.Options) *token.Issuer {
	t.Helper()
	opts.Issuer, opts.Audience = issuerURL, audience
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.KEK == nil {
		opts.KEK = testKEK
	}
	iss, err := token.NewIssuer(store, clk, opts)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// verifierOver is what another service runs: keys fetched from JWKS (here
// straight from the issuer instead of over gRPC) and cached.
func verifierOver(t *testing.T, iss *token.Issuer, clk clock.Clock) *authn.Verifier {
	t.Helper()
	v, err := authn.NewVerifier(authn.VerifierOptions{
		Issuer: issuerURL, Audience: audience, Clock: clk,
		Keys: authn.NewCachedKeys(iss.JWKS, authn.CachedKeysOptions{Clock: clk}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func claims(sid string, authAt time.Time) token.Claims {
	return token.Claims{AccountID: "acct-1", TenantID: "tenant-1", Roles: []string{"ADMIN"}, SessionID: sid, AMR: []string{"pwd"}, AuthTime: authAt}
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestIssue_TokenVerifiesThroughJWKS(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	iss := newIssuer(t, token.NewMemoryKeyStore(), clk, token.Options{})
	if err := iss.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tok, exp, err := iss.Issue(ctx, claims("sess-1", t0.Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(token.DefaultAccessTTL)) {
		t.Fatalf("exp = %v, want %v", exp, t0.Add(token.DefaultAccessTTL))
	}
	h := header(t, tok)
	jwks, _ := iss.JWKS(ctx)
	if h["typ"] != "at+jwt" || h["alg"] != "EdDSA" || len(jwks) != 1 || h["kid"] != jwks[0].Kid {
		t.Fatalf("header %v, jwks %+v", h, jwks)
	}
	if j := jwks[0]; j.Kty != "OKP" || j.Crv != "Ed25519" || j.Use != "sig" || j.Alg != "EdDSA" || len(j.X) != 43 {
		t.Fatalf("jwk %+v", j)
	}

	p, err := verifierOver(t, iss, clk).Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != authn.KindAccount || p.AccountID != "acct-1" || p.TenantID != "tenant-1" || p.SessionID != "sess-1" ||
		!slices.Equal(p.Roles, []string{"ADMIN"}) || !slices.Equal(p.AMR, []string{"pwd"}) ||
		!p.AuthTime.Equal(t0.Add(-time.Minute)) || p.TokenID == "" || !p.ExpiresAt.Equal(exp) {
		t.Fatalf("principal %+v", p)
	}
	// The credential service can verify its own tokens with the issuer as
	// key source.
	self, _ := authn.NewVerifier(authn.VerifierOptions{Issuer: issuerURL, Audience: audience, Clock: clk, Keys: iss})
	if _, err := self.Verify(ctx, tok); err != nil {
		t.Fatalf("issuer as key source: %v", err)
	}
	clk.Advance(token.DefaultAccessTTL + authn.DefaultLeeway + time.Second)
	if _, err := self.Verify(ctx, tok); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("after its lifetime: %v", err)
	}
}

func TestIssue_RefusesIncompleteClaims(t *testing.T) {
	iss := newIssuer(t, token.NewMemoryKeyStore(), clock.NewFake(t0), token.Options{})
	for _, edit := range []func(*token.Claims){
		func(c *token.Claims) { c.AccountID = "" },
		func(c *token.Claims) { c.TenantID = "" },
		func(c *token.Claims) { c.SessionID = "" },
		func(c *token.Claims) { c.AuthTime = time.Time{} },
	} {
		c := claims("s", t0)
		edit(&c)
		if _, _, err := iss.Issue(context.Background(), c); err == nil {
			t.Errorf("Issue(%+v) succeeded", c)
		}
	}
}

func kids(t *testing.T, iss *token.Issuer) []string {
	t.Helper()
	jwks, err := iss.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range jwks {
		out = append(out, k.Kid)
	}
	return out
}

func TestRotation_OldKeyPublishedUntilItsTokensExpireThenDeleted(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := token.NewMemoryKeyStore()
	const ttl, rotate, reload = 10 * time.Minute, 24 * time.Hour, time.Minute
	iss := newIssuer(t, store, clk, token.Options{AccessTTL: ttl, RotateEvery: rotate, ReloadEvery: reload})
	v := verifierOver(t, iss, clk)

	first := kids(t, iss)
	if len(first) != 1 {
		t.Fatalf("a fresh store has %d keys, want 1", len(first))
	}
	// The last token of the first key, just before rotation is due.
	clk.Set(t0.Add(rotate - time.Second))
	oldTok, _, err := iss.Issue(ctx, claims("s-old", clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatal(err)
	}
	if header(t, oldTok)["kid"] != first[0] {
		t.Fatal("the old token was not signed by the first key")
	}

	// Rotation is due: the next issue uses a new key.
	rotatedAt := clk.Advance(reload)
	newTok, _, err := iss.Issue(ctx, claims("s-new", clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	newKid := header(t, newTok)["kid"]
	if newKid == first[0] {
		t.Fatal("still signing with the old key after RotateEvery")
	}
	if got := kids(t, iss); !slices.Equal(got, []string{first[0], newKid.(string)}) {
		t.Fatalf("JWKS after rotation = %v, want old then new", got)
	}
	// The verifier's cache knows only the old key: the new kid makes it
	// look again at once, and the old token still verifies.
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("old token while its key is published: %v", err)
	}

	// Published as long as a token it signed may be in use (another
	// replica may sign with it until its next reload)...
	retire := rotatedAt.Add(reload + ttl + token.RetireGrace)
	clk.Set(retire.Add(-reload)) // a reload, a minute before retirement
	if got := kids(t, iss); len(got) != 2 {
		t.Fatalf("old key gone before its tokens could expire: %v", got)
	}
	// ... and no longer: the next reload deletes it.
	clk.Set(retire)
	if got := kids(t, iss); !slices.Equal(got, []string{newKid.(string)}) {
		t.Fatalf("JWKS after the old tokens expired = %v, want only %v", got, newKid)
	}
	stored, _ := store.ListKeys(ctx)
	if len(stored) != 1 {
		t.Fatalf("the store still holds %d keys", len(stored))
	}
	if _, err := v.Verify(ctx, newTok); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("new token long after its expiry: %v", err) // sanity: the clock moved
	}
}

func TestRotation_ReplicaPicksUpKeyAddedByAnother(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := token.NewMemoryKeyStore()
	opts := token.Options{RotateEvery: 24 * time.Hour}
	a, b := newIssuer(t, store, clk, opts), newIssuer(t, store, clk, opts)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kids(t, a), kids(t, b)) || len(kids(t, a)) != 1 {
		t.Fatal("two replicas on one store made two first keys")
	}
	clk.Advance(24 * time.Hour)
	bKids := kids(t, b) // b rotates
	clk.Advance(token.DefaultReloadEvery)
	tok, _, err := a.Issue(ctx, claims("s", clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// a reloads and signs with b's new key rather than adding a third.
	if got := header(t, tok)["kid"]; got != bKids[len(bKids)-1] {
		t.Fatalf("a signed with %v, want b's new key %v", got, bKids[len(bKids)-1])
	}
	if keys, _ := store.ListKeys(ctx); len(keys) != 2 {
		t.Fatalf("%d keys stored, want 2", len(keys))
	}
}

func TestRotation_EarlierRetireAtForcesRotation(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := token.NewMemoryKeyStore()
	iss := newIssuer(t, store, clk, token.Options{})
	first := kids(t, iss)
	// An operator suspects a leak and retires the key now.
	keys, _ := store.ListKeys(ctx)
	k := keys[0]
	k.RetireAt = clk.Now()
	_ = store.DeleteKey(ctx, k.ID)
	_ = store.AddKey(ctx, k)
	clk.Advance(token.DefaultReloadEvery)
	if got := kids(t, iss); len(got) != 2 || got[0] != first[0] {
		t.Fatalf("JWKS = %v, want the old key and a new one", got)
	}
}

// flakyStore fails on demand.
type flakyStore struct {
	token.KeyStore
	fail atomic.Bool
}

func (f *flakyStore) ListKeys(ctx context.Context) ([]token.StoredKey, error) {
	if f.fail.Load() {
		return nil, errors.New("database down")
	}
	return f.KeyStore.ListKeys(ctx)
}

func TestIssuer_StoreOutage(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := &flakyStore{KeyStore: token.NewMemoryKeyStore()}

	cold := newIssuer(t, store, clk, token.Options{})
	store.fail.Store(true)
	if _, _, err := cold.Issue(ctx, claims("s", t0)); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("no key at all: err = %v, want Unavailable", err)
	}

	store.fail.Store(false)
	warm := newIssuer(t, store, clk, token.Options{})
	if err := warm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	store.fail.Store(true)
	clk.Advance(time.Hour)
	if _, _, err := warm.Issue(ctx, claims("s", clk.Now())); err != nil {
		t.Fatalf("a loaded issuer should keep signing through an outage: %v", err)
	}
}

func TestNewIssuer_RefusesBadOptions(t *testing.T) {
	s := token.NewMemoryKeyStore()
	for name, o := range map[string]token.Options{
		"no issuer":                     {Audience: audience},
		"no audience":                   {Issuer: issuerURL},
		"rotation shorter than a token": {Issuer: issuerURL, Audience: audience, AccessTTL: time.Hour, RotateEvery: time.Minute},
	} {
		if _, err := token.NewIssuer(s, nil, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := token.NewIssuer(nil, nil, token.Options{Issuer: issuerURL, Audience: audience}); err == nil {
		t.Error("nil store accepted")
	}
}

func TestKeyID_IsTheRFC7638Thumbprint(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if got, want := token.KeyID(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("KeyID = %s, want %s", got, want)
	}
}

func BenchmarkIssue(b *testing.B) {
	iss, _ := token.NewIssuer(token.NewMemoryKeyStore(), nil, token.Options{Issuer: issuerURL, Audience: audience})
	c := claims("s", time.Now())
	for b.Loop() {
		if _, _, err := iss.Issue(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// NotAfter caps a token's expiry (the end of its session's lifetime); a
// later one leaves the usual lifetime.
func TestIssue_NotAfterCapsTheExpiry(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	iss := newIssuer(t, token.NewMemoryKeyStore(), clk, token.Options{})
	if err := iss.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		notAfter time.Time
		want     time.Time
	}{
		{"none", time.Time{}, t0.Add(token.DefaultAccessTTL)},
		{"after the usual expiry", t0.Add(time.Hour), t0.Add(token.DefaultAccessTTL)},
		{"before it", t0.Add(3 * time.Minute), t0.Add(3 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims("sess-1", t0)
			c.NotAfter = tc.notAfter
			tok, exp, err := iss.Issue(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			p, err := verifierOver(t, iss, clk).Verify(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !exp.Equal(tc.want) || !p.ExpiresAt.Equal(tc.want) {
				t.Fatalf("exp = %v (token: %v), want %v", exp, p.ExpiresAt, tc.want)
			}
		})
	}
}

// While its feed of key rotations is not current, the credential service
// checks its own tokens against the keys its store holds now
// (authn.KeyFreshener): a key retired by `latchkey keys rotate
// --retire-current` is gone a second later at most, however long the
// reload interval; and a store that cannot be read is an error, not the
// keys loaded before.
func TestIssuer_FreshKeysReadTheStoreAtMostOnceASecond(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := &flakyStore{KeyStore: token.NewMemoryKeyStore()}
	iss := newIssuer(t, store, clk, token.Options{})
	if err := iss.Start(ctx); err != nil {
		t.Fatal(err)
	}
	old := kids(t, iss)[0]
	r, err := token.Rotate(ctx, store, testKEK, clk.Now(), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := iss.Keys(ctx); keys[old] == nil {
		t.Fatal("the cached ring dropped the key before its reload: the test proves nothing")
	}
	clk.Advance(authn.FreshKeysAge)
	keys, err := iss.FreshKeys(ctx)
	if err != nil || keys[old] != nil || keys[r.Current] == nil {
		t.Fatalf("FreshKeys = %v, %v; want the new key alone", keys, err)
	}
	store.fail.Store(true)
	if _, err := iss.FreshKeys(ctx); err != nil {
		t.Fatalf("within a second of a read: %v", err)
	}
	clk.Advance(authn.FreshKeysAge)
	if _, err := iss.FreshKeys(ctx); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("store down: err = %v, want Unavailable", err)
	}
}

// JWKS drops a retired key and lists its successor at once after
// InvalidateKeys (the rotation's event), even within a second of the last
// read of the store.
func TestIssuer_JWKSAfterInvalidateReadsTheStoreAtOnce(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := token.NewMemoryKeyStore()
	iss := newIssuer(t, store, clk, token.Options{})
	old := kids(t, iss)[0]
	r, err := token.Rotate(ctx, store, testKEK, clk.Now(), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	iss.InvalidateKeys()
	if got := kids(t, iss); !slices.Equal(got, []string{r.Current}) {
		t.Fatalf("JWKS = %v right after the invalidation; want %s alone, not %s", got, r.Current, old)
	}
}

// Replicas starting at once over an empty store sign with one key between
// them: with a key each, a verifier that fetched the ring between the two
// additions would refuse the second replica's tokens until its next fetch.
func TestIssuer_ReplicasStartingAtOnceShareOneKey(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	store := token.NewMemoryKeyStore()
	const replicas = 8
	kids := make(chan any, replicas)
	for range replicas {
		iss := newIssuer(t, store, clk, token.Options{})
		go func() {
			tok, _, err := iss.Issue(ctx, claims("sess-1", t0))
			if err != nil {
				kids <- err
				return
			}
			kids <- header(t, tok)["kid"]
		}()
	}
	first := <-kids
	for range replicas - 1 {
		if kid := <-kids; kid != first {
			t.Fatalf("replicas sign with %v and %v; want one key", first, kid)
		}
	}
	if keys, _ := store.ListKeys(ctx); len(keys) != 1 {
		t.Fatalf("%d keys stored, want 1", len(keys))
	}
}
