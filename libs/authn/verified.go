package authn

import (
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// maxVerifiedTokens bounds the tokens a Verifier remembers: a few MiB at
// most, whoever sends tokens.
const maxVerifiedTokens = 10000

// verifiedTokens remembers access tokens whose signature and claims were
// checked, by their SHA-256, so that a client calling again with the same
// token costs a hash and a map look-up instead of an Ed25519 verification
// and a JSON decode (the largest cost of an authenticated read, issue 14).
//
// Why that is safe:
//   - The token is the same bytes (SHA-256 has no known collisions), so
//     signature, typ, issuer, audience, iat and the claims are what they
//     were; only time, the keys and the session can have changed since.
//   - Time: an entry serves only before the token's exp, without leeway;
//     past it the full check runs and applies the leeway as before.
//   - Keys: at every hit the key is looked up again as the full check
//     would (retired, published, fresh keys while the retirements' feed is
//     behind) and must still be the one that verified the signature.
//   - Sessions: the caller checks the denylist (and the credential service
//     while the list is behind) at every call, hit or not.
//
// The tokens themselves are not kept, only their hash.
type verifiedTokens struct {
	max int
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	p   Principal
	kid string
	key ed25519.PublicKey
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, m: map[[sha256.Size]byte]verifiedToken{}}
}

// get returns a copy of the principal of the token whose hash is sum, if
// it was verified, has not expired at now, and keyFor still gives the key
// that verified it.
func (c *verifiedTokens) get(sum [sha256.Size]byte, now time.Time, keyFor func(kid string) (ed25519.PublicKey, error)) (*Principal, bool) {
	c.mu.RLock()
	e, ok := c.m[sum]
	c.mu.RUnlock()
	if !ok || !now.Before(e.p.ExpiresAt) {
		return nil, false
	}
	if k, err := keyFor(e.kid); err != nil || !k.Equal(e.key) {
		return nil, false
	}
	p := e.p // callers fill in per-call fields (TenantCode)
	return &p, true
}

// put remembers the principal p of a token just verified with key. A
// token without an expiry is not kept.
func (c *verifiedTokens) put(sum [sha256.Size]byte, kid string, key ed25519.PublicKey, p *Principal) {
	if p.ExpiresAt.IsZero() || kid == "" || key == nil {
		return
	}
	e := verifiedToken{p: *p, kid: kid, key: key}
	// Clipped, so a caller appending to its copy's slices never writes
	// into the entry's.
	e.p.Roles, e.p.AMR = slices.Clip(e.p.Roles), slices.Clip(e.p.AMR)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Expired entries are not swept one by one: when full, start
		// again empty (the tokens are re-verified once each).
		clear(c.m)
	}
	c.m[sum] = e
}
