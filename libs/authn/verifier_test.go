package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
)

const (
	testIssuer   = "https://latchkey.test"
	testAudience = "latchkey"
)

var testNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// testKey is a signing key the tests mint tokens with, standing in for the
// credential service's issuer (which lives in another module).
type testKey struct {
	kid  string
	priv ed25519.PrivateKey
}

func newTestKey(t testing.TB, kid string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, priv: priv}
}

func (k testKey) public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

func validClaims(now time.Time) AccessClaims {
	return AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "acct-1",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        "jti-1",
		},
		TenantID:  "tenant-1",
		Roles:     []string{"USER"},
		SessionID: "sess-1",
		AMR:       []string{"pwd", "otp"},
		AuthTime:  now.Add(-time.Minute).Unix(),
	}
}

// sign makes a token as the issuer does; edit may change header and claims
// first.
func (k testKey) sign(t testing.TB, c AccessClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["typ"] = AccessTokenType
	tok.Header["kid"] = k.kid
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestVerifier(t testing.TB, keys KeySource, c clock.Clock, d *Denylist) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierOptions{Issuer: testIssuer, Audience: testAudience, Keys: keys, Clock: c, Denylist: d})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reasonOf returns the errs reason of err, "" when it is not an *errs.Error.
func reasonOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestVerify_AcceptsAGoodTokenAndFillsThePrincipal(t *testing.T) {
	k := newTestKey(t, "k1")
	v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clock.NewFake(testNow), nil)
	p, err := v.Verify(context.Background(), k.sign(t, validClaims(testNow), nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{
		Kind: KindAccount, AccountID: "acct-1", TenantID: "tenant-1", Roles: []string{"USER"},
		SessionID: "sess-1", AMR: []string{"pwd", "otp"}, AuthTime: testNow.Add(-time.Minute),
		TokenID: "jti-1", ExpiresAt: testNow.Add(10 * time.Minute),
	}
	if p.Kind != want.Kind || p.AccountID != want.AccountID || p.TenantID != want.TenantID ||
		strings.Join(p.Roles, ",") != "USER" || p.SessionID != want.SessionID ||
		strings.Join(p.AMR, ",") != "pwd,otp" || !p.AuthTime.Equal(want.AuthTime) ||
		p.TokenID != want.TokenID || !p.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("principal = %+v\nwant        %+v", *p, want)
	}
}

func TestVerify_RefusesEveryBadToken(t *testing.T) {
	k := newTestKey(t, "k1")
	other := newTestKey(t, "k1") // same kid, different key
	good := k.sign(t, validClaims(testNow), nil)
	parts := strings.Split(good, ".")

	withClaims := func(edit func(*AccessClaims)) string {
		c := validClaims(testNow)
		edit(&c)
		return k.sign(t, c, nil)
	}
	withHeader := func(edit func(*jwt.Token)) string { return k.sign(t, validClaims(testNow), edit) }
	unsigned := func(m jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(m, validClaims(testNow))
		tok.Header["typ"] = AccessTokenType
		tok.Header["kid"] = k.kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tamperedPayload := func() string {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m["sub"] = "acct-admin"
		m["roles"] = []string{"ADMIN"}
		b, _ = json.Marshal(m)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}

	for _, tc := range []struct {
		name   string
		token  string
		reason string
	}{
		{"HS256 with the public key as secret", unsigned(jwt.SigningMethodHS256, []byte(k.public())), ReasonAccessTokenInvalid},
		{"alg none", unsigned(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), ReasonAccessTokenInvalid},
		{"wrong audience", withClaims(func(c *AccessClaims) { c.Audience = jwt.ClaimStrings{"someone-else"} }), ReasonAccessTokenInvalid},
		{"no audience", withClaims(func(c *AccessClaims) { c.Audience = nil }), ReasonAccessTokenInvalid},
		{"wrong issuer", withClaims(func(c *AccessClaims) { c.Issuer = "https://evil.test" }), ReasonAccessTokenInvalid},
		{"expired", withClaims(func(c *AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Minute)) }), ReasonAccessTokenExpired},
		{"missing exp", withClaims(func(c *AccessClaims) { c.ExpiresAt = nil }), ReasonAccessTokenInvalid},
		{"not valid yet", withClaims(func(c *AccessClaims) { c.NotBefore = jwt.NewNumericDate(testNow.Add(5 * time.Minute)) }), ReasonAccessTokenInvalid},
		{"issued in the future", withClaims(func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(testNow.Add(5 * time.Minute)) }), ReasonAccessTokenInvalid},
		{"no session", withClaims(func(c *AccessClaims) { c.SessionID = "" }), ReasonAccessTokenInvalid},
		{"no subject", withClaims(func(c *AccessClaims) { c.Subject = "" }), ReasonAccessTokenInvalid},
		{"no tenant", withClaims(func(c *AccessClaims) { c.TenantID = "" }), ReasonAccessTokenInvalid},
		{"typ JWT (e.g. an ID token)", withHeader(func(t *jwt.Token) { t.Header["typ"] = "JWT" }), ReasonAccessTokenInvalid},
		{"typ refresh", withHeader(func(t *jwt.Token) { t.Header["typ"] = "rt+jwt" }), ReasonAccessTokenInvalid},
		{"no typ", withHeader(func(t *jwt.Token) { delete(t.Header, "typ") }), ReasonAccessTokenInvalid},
		{"unknown kid", withHeader(func(t *jwt.Token) { t.Header["kid"] = "k-unknown" }), ReasonAccessTokenInvalid},
		{"no kid", withHeader(func(t *jwt.Token) { delete(t.Header, "kid") }), ReasonAccessTokenInvalid},
		{"signed by another key under the same kid", other.sign(t, validClaims(testNow), nil), ReasonAccessTokenInvalid},
		{"tampered payload", tamperedPayload(), ReasonAccessTokenInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), ReasonAccessTokenInvalid},
		{"no signature", parts[0] + "." + parts[1] + ".", ReasonAccessTokenInvalid},
		{"expired and tampered", func() string {
			p := strings.Split(withClaims(func(c *AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Hour)) }), ".")
			return p[0] + "." + p[1] + "." + parts[2]
		}(), ReasonAccessTokenInvalid},
		{"garbage", "a.b.c", ReasonAccessTokenInvalid},
		{"empty", "", ReasonAccessTokenInvalid},
		{"huge", strings.Repeat("a", maxTokenSize) + ".b.c", ReasonAccessTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clock.NewFake(testNow), nil)
			p, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errs.Is(err, errs.KindUnauthenticated) || reasonOf(err) != tc.reason {
				t.Fatalf("err = %v (reason %q), want Unauthenticated %s", err, reasonOf(err), tc.reason)
			}
			// What the client reads is one fixed sentence, never the
			// library's explanation.
			msg := status.Convert(err).Message()
			if msg != "the access token is not valid" && msg != "the access token has expired" {
				t.Fatalf("client message %q", msg)
			}
		})
	}
}

func TestVerify_LeewayAdmitsSlightlyExpiredTokens(t *testing.T) {
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clk, nil)
	tok := k.sign(t, validClaims(testNow), nil)
	clk.Advance(10*time.Minute + 20*time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("20s past exp, within the 30s leeway: %v", err)
	}
	clk.Advance(15 * time.Second)
	if _, err := v.Verify(context.Background(), tok); reasonOf(err) != ReasonAccessTokenExpired {
		t.Fatalf("35s past exp: %v, want %s", err, ReasonAccessTokenExpired)
	}
}

func TestVerify_RefusesRevokedSession(t *testing.T) {
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	d := NewDenylist(clk)
	v := newTestVerifier(t, StaticKeys{k.kid: k.public()}, clk, d)
	tok := k.sign(t, validClaims(testNow), nil)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	d.Revoke("sess-1", testNow.Add(10*time.Minute))
	_, err := v.Verify(context.Background(), tok)
	if !errs.Is(err, errs.KindUnauthenticated) || reasonOf(err) != ReasonSessionRevoked {
		t.Fatalf("err = %v, want %s", err, ReasonSessionRevoked)
	}
}

func TestVerify_UnknownKidRefreshesKeysOnce(t *testing.T) {
	k1, k2 := newTestKey(t, "k1"), newTestKey(t, "k2")
	clk := clock.NewFake(testNow)
	var published atomic.Pointer[[]JWK]
	publish := func(keys ...testKey) {
		var jwks []JWK
		for _, k := range keys {
			jwks = append(jwks, NewJWK(k.kid, k.public()))
		}
		published.Store(&jwks)
	}
	var fetches atomic.Int32
	cache := NewCachedKeys(func(context.Context) ([]JWK, error) {
		fetches.Add(1)
		return *published.Load(), nil
	}, CachedKeysOptions{Clock: clk})
	v := newTestVerifier(t, cache, clk, nil)
	ctx := context.Background()

	publish(k1)
	if _, err := v.Verify(ctx, k1.sign(t, validClaims(testNow), nil)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // keys are cached for 5 minutes
	publish(k1, k2)          // the credential service rotates
	if _, err := v.Verify(ctx, k2.sign(t, validClaims(clk.Now()), nil)); err != nil {
		t.Fatalf("token of the rotated-in key: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (first use, unknown kid)", n)
	}

	// Made-up kids do not turn into fetches.
	for range 50 {
		tok := k1.sign(t, validClaims(clk.Now()), func(t *jwt.Token) { t.Header["kid"] = "made-up" })
		if _, err := v.Verify(ctx, tok); reasonOf(err) != ReasonAccessTokenInvalid {
			t.Fatalf("made-up kid: %v", err)
		}
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after made-up kids, want still 2", n)
	}
	clk.Advance(DefaultKeysMinRefresh)
	tok := k1.sign(t, validClaims(clk.Now()), func(t *jwt.Token) { t.Header["kid"] = "made-up" })
	_, _ = v.Verify(ctx, tok)
	if n := fetches.Load(); n != 3 {
		t.Fatalf("%d fetches after MinRefresh, want 3", n)
	}
}

func TestCachedKeys_RefetchesAfterTTLAndKeepsStaleKeysOnFailure(t *testing.T) {
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	var fail atomic.Bool
	var fetches atomic.Int32
	cache := NewCachedKeys(func(context.Context) ([]JWK, error) {
		fetches.Add(1)
		if fail.Load() {
			return nil, errors.New("credential service down")
		}
		return []JWK{NewJWK(k.kid, k.public())}, nil
	}, CachedKeysOptions{Clock: clk})
	ctx := context.Background()
	if keys, err := cache.Keys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	clk.Advance(DefaultKeysTTL - time.Second)
	_, _ = cache.Keys(ctx)
	if fetches.Load() != 1 {
		t.Fatalf("fetched again within the TTL")
	}
	clk.Advance(time.Second)
	fail.Store(true)
	keys, err := cache.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("after a failed refetch: %v, %v; want the stale keys", keys, err)
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches, want 2", fetches.Load())
	}
	_, _ = cache.Keys(ctx)
	if fetches.Load() != 2 {
		t.Fatal("a failing source was asked again at once")
	}
}

func TestVerify_KeysNeverFetchedIsUnavailable(t *testing.T) {
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	cache := NewCachedKeys(func(context.Context) ([]JWK, error) {
		return nil, errors.New("connection refused")
	}, CachedKeysOptions{Clock: clk})
	v := newTestVerifier(t, cache, clk, nil)
	_, err := v.Verify(context.Background(), k.sign(t, validClaims(testNow), nil))
	if !errs.Is(err, errs.KindUnavailable) || reasonOf(err) != ReasonKeysUnavailable {
		t.Fatalf("err = %v, want Unavailable %s", err, ReasonKeysUnavailable)
	}
}

func TestJWK_PublicKeyRefusesOtherKeys(t *testing.T) {
	k := newTestKey(t, "k1")
	good := NewJWK("k1", k.public())
	if pub, err := good.PublicKey(); err != nil || !pub.Equal(k.public()) {
		t.Fatalf("PublicKey = %v, %v", pub, err)
	}
	for name, edit := range map[string]func(*JWK){
		"RSA":        func(j *JWK) { j.Kty = "RSA" },
		"X25519":     func(j *JWK) { j.Crv = "X25519" },
		"enc":        func(j *JWK) { j.Use = "enc" },
		"HS256":      func(j *JWK) { j.Alg = "HS256" },
		"no kid":     func(j *JWK) { j.Kid = "" },
		"short x":    func(j *JWK) { j.X = j.X[:20] },
		"x not b64u": func(j *JWK) { j.X = "!!" + j.X[2:] },
	} {
		j := good
		edit(&j)
		if _, err := j.PublicKey(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := newTestKey(b, "k1")
	v := newTestVerifier(b, StaticKeys{k.kid: k.public()}, clock.System{}, NewDenylist(nil))
	tok := k.sign(b, validClaims(time.Now()), nil)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
