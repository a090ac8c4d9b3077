package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// KeySource gives the public keys access tokens may be signed with, by key
// id (the JWT "kid" header).
type KeySource interface {
	Keys(ctx context.Context) (map[string]ed25519.PublicKey, error)
}

// KeyRefresher is a KeySource that can look again before its cache runs
// out. The verifier asks it once when a token names a key it does not
// know, so a key the credential service has just rotated in works at once.
type KeyRefresher interface {
	KeySource
	Refresh(ctx context.Context) (map[string]ed25519.PublicKey, error)
}

// KeyFreshener is a KeySource that can give keys read at most
// FreshKeysAge ago. The verifier asks for them while the SigningKeyRotated
// feed is not current (RetiredKeys.Current): then only the key service
// itself can tell that a key was retired. Unlike Refresh, it never answers
// with older keys: when it cannot fetch, it fails.
type KeyFreshener interface {
	KeySource
	FreshKeys(ctx context.Context) (map[string]ed25519.PublicKey, error)
}

// FreshKeysAge is how old the keys FreshKeys gives may be; also the least
// time between two of its fetches, shared by every caller, so a NATS
// outage costs the key service one call a second from each verifier.
const FreshKeysAge = time.Second

// StaticKeys is a fixed set of keys, for tests and for a process that
// signs the tokens itself.
type StaticKeys map[string]ed25519.PublicKey

// Keys returns the set.
func (s StaticKeys) Keys(context.Context) (map[string]ed25519.PublicKey, error) { return s, nil }

// Defaults of CachedKeysOptions.
const (
	// DefaultKeysTTL is how long fetched keys are used before they are
	// fetched again.
	DefaultKeysTTL = 5 * time.Minute
	// DefaultKeysMinRefresh is the least time between two fetches, however
	// many tokens with unknown key ids arrive: a client cannot turn made-up
	// kids into a flood of calls to the credential service.
	DefaultKeysMinRefresh = 10 * time.Second
)

// CachedKeysOptions configure NewCachedKeys; zero values take the defaults.
type CachedKeysOptions struct {
	TTL        time.Duration
	MinRefresh time.Duration
	Clock      clock.Clock
}

// CachedKeys is a KeyRefresher over a fetch function (usually the
// credential service's GetJwks, see CredentialJWKS). It keeps the last good
// answer: when a fetch fails it goes on with the keys it has, so a short
// outage of the credential service does not log everybody out.
type CachedKeys struct {
	fetch func(context.Context) ([]JWK, error)
	opts  CachedKeysOptions

	keys atomic.Pointer[cachedKeySet]
	mu   sync.Mutex // one fetch at a time; callers behind it reuse its answer
}

type cachedKeySet struct {
	keys      map[string]ed25519.PublicKey // nil until a fetch succeeded
	fetchedAt time.Time                    // last success
	triedAt   time.Time                    // last attempt, good or not
	// invalidatedAt is the last InvalidateKeys: for MinRefresh after it,
	// unknown kids may fetch once a second rather than once a MinRefresh.
	invalidatedAt time.Time
}

// NewCachedKeys returns a cache over fetch. Nothing is fetched until keys
// are first needed.
func NewCachedKeys(fetch func(context.Context) ([]JWK, error), opts CachedKeysOptions) *CachedKeys {
	if opts.TTL <= 0 {
		opts.TTL = DefaultKeysTTL
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = DefaultKeysMinRefresh
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	c := &CachedKeys{fetch: fetch, opts: opts}
	c.keys.Store(&cachedKeySet{})
	return c
}

// Keys returns the cached keys, fetching them when the cache is older than
// the TTL.
func (c *CachedKeys) Keys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	s := c.keys.Load()
	if s.keys != nil && c.opts.Clock.Now().Sub(s.fetchedAt) < c.opts.TTL {
		return s.keys, nil
	}
	return c.load(ctx, c.opts.TTL)
}

// InvalidateKeys makes the next call fetch the keys, whatever the TTL and
// MinRefresh say: the key ring changed (SigningKeyRotated). The keys it
// has stay in use if that fetch fails. That fetch may still reach a
// credential replica that has not reloaded yet, so for MinRefresh after
// it a token naming an unknown key may fetch again after a second.
func (c *CachedKeys) InvalidateKeys() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys.Store(&cachedKeySet{keys: c.keys.Load().keys, invalidatedAt: c.opts.Clock.Now()})
}

// Refresh fetches the keys again unless a fetch was tried less than
// MinRefresh ago.
func (c *CachedKeys) Refresh(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	return c.load(ctx, 0)
}

// FreshKeys returns keys fetched at most FreshKeysAge ago, fetching them
// when the cache is older; at most one fetch per FreshKeysAge, shared by
// every caller. When the fetch fails (or failed less than FreshKeysAge
// ago) it fails with errKeysUnavailable rather than trust the keys it
// has: they may list a key retired since.
func (c *CachedKeys) FreshKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	if s := c.keys.Load(); s.keys != nil && c.opts.Clock.Now().Sub(s.fetchedAt) < FreshKeysAge {
		return s.keys, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.keys.Load()
	now := c.opts.Clock.Now()
	switch {
	case s.keys != nil && now.Sub(s.fetchedAt) < FreshKeysAge:
		// Another caller fetched while this one waited for mu.
		return s.keys, nil
	case !s.triedAt.IsZero() && now.Sub(s.triedAt) < FreshKeysAge:
		return nil, fmt.Errorf("%w: the last fetch failed", errKeysUnavailable)
	}
	return c.fetchLocked(ctx, s, now)
}

// fetchLocked fetches the keys at now, with mu held and s the cache, and
// records the attempt; a failure keeps s's keys cached but returns none.
func (c *CachedKeys) fetchLocked(ctx context.Context, s *cachedKeySet, now time.Time) (map[string]ed25519.PublicKey, error) {
	jwks, err := c.fetch(ctx)
	if err == nil {
		var keys map[string]ed25519.PublicKey
		if keys, err = keyMap(jwks); err == nil {
			c.keys.Store(&cachedKeySet{keys: keys, fetchedAt: now, triedAt: now, invalidatedAt: s.invalidatedAt})
			return keys, nil
		}
	}
	c.keys.Store(&cachedKeySet{keys: s.keys, fetchedAt: s.fetchedAt, triedAt: now, invalidatedAt: s.invalidatedAt})
	return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
}

// load fetches unless the cache is younger than fresh, or the last attempt
// is younger than MinRefresh.
func (c *CachedKeys) load(ctx context.Context, fresh time.Duration) (map[string]ed25519.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.keys.Load()
	now := c.opts.Clock.Now()
	// Another caller may have fetched while this one waited for mu.
	if s.keys != nil && fresh > 0 && now.Sub(s.fetchedAt) < fresh {
		return s.keys, nil
	}
	wait := c.opts.MinRefresh
	if s.keys == nil || now.Sub(s.invalidatedAt) < c.opts.MinRefresh {
		// Nothing to go on yet (the credential service is starting):
		// every call fails until a fetch works, so try more often. Or
		// the keys just changed, and a new one may not have been
		// published by every credential replica at the first fetch.
		wait = min(wait, time.Second)
	}
	if !s.triedAt.IsZero() && now.Sub(s.triedAt) < wait {
		if s.keys == nil {
			return nil, errKeysUnavailable
		}
		return s.keys, nil
	}
	keys, err := c.fetchLocked(ctx, s, now)
	if err != nil && s.keys != nil {
		return s.keys, nil // stale beats none
	}
	return keys, err
}

// keyMap turns a JWKS into keys by id. Keys that are not Ed25519 signing
// keys are skipped (a JWKS may one day carry other kinds); a set with no
// usable key at all is an error, since it would refuse every token.
func keyMap(jwks []JWK) (map[string]ed25519.PublicKey, error) {
	keys := make(map[string]ed25519.PublicKey, len(jwks))
	var firstErr error
	for _, k := range jwks {
		pub, err := k.PublicKey()
		if err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, cmpOr(firstErr, errors.New("authn: the key set is empty"))
	}
	return keys, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var errKeysUnavailable = errors.New("authn: signing keys unavailable")

// CredentialJWKS returns a fetch function for NewCachedKeys that asks the
// credential service's GetJwks.
func CredentialJWKS(client credentialv1.AuthServiceClient) func(context.Context) ([]JWK, error) {
	return func(ctx context.Context) ([]JWK, error) {
		resp, err := client.GetJwks(ctx, &credentialv1.GetJwksRequest{})
		if err != nil {
			return nil, fmt.Errorf("authn: GetJwks: %w", err)
		}
		out := make([]JWK, 0, len(resp.GetKeys()))
		for _, k := range resp.GetKeys() {
			out = append(out, JWK{Kty: k.GetKty(), Crv: k.GetCrv(), X: k.GetX(), Kid: k.GetKid(), Use: k.GetUse(), Alg: k.GetAlg()})
		}
		return out, nil
	}
}
