package token

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/keyring"
)

// Defaults of Options.
const (
	DefaultAccessTTL   = 10 * time.Minute
	DefaultRotateEvery = 30 * 24 * time.Hour
	DefaultReloadEvery = time.Minute
)

// RetireGrace is how long, beyond the longest life of its tokens, a
// replaced key stays published: it covers the verifiers' leeway on exp
// (authn.DefaultLeeway) and clock skew between replicas.
const RetireGrace = 2 * time.Minute

// Options configure an Issuer. Every replica of the credential service must
// use the same AccessTTL and ReloadEvery, since each one retires keys the
// others may still sign with until their next reload.
type Options struct {
	// Issuer and Audience go into iss and aud; both are required.
	Issuer   string
	Audience string
	// AccessTTL is the lifetime of an access token (default 10 minutes).
	AccessTTL time.Duration
	// RotateEvery is how long a key signs before a new one replaces it
	// (default 30 days).
	RotateEvery time.Duration
	// ReloadEvery is how often the issuer reads the store again, to pick
	// up a key another replica added and to retire old ones (default 1
	// minute).
	ReloadEvery time.Duration
	// KEK seals the private keys in the store; keys sealed under a KEK of
	// the ring other than its first are sealed again under the first, and
	// plaintext keys of an older version are sealed, when the ring is
	// loaded. Nil: a random ring for this process alone, for tests (keys
	// in a lasting store would not open after a restart).
	KEK *keyring.Ring
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Claims is what the caller decides about an access token; the issuer adds
// iss, aud, iat, exp and, when ID is empty, jti.
type Claims struct {
	// AccountID becomes sub.
	AccountID string
	TenantID  string
	Roles     []string
	SessionID string
	// AMR lists the methods used ("pwd", "otp", "pin").
	AMR []string
	// AuthTime is when the user last authenticated: the log-in or reauth
	// time, kept unchanged across refreshes.
	AuthTime time.Time
	// NotBefore is optional.
	NotBefore time.Time
	// NotAfter, when set, is the latest the token may expire: the end of
	// its session's lifetime, which no token outlives.
	NotAfter time.Time
	// ID is the jti; empty: a new UUIDv7.
	ID string
}

// Issuer signs access tokens with the newest key of a ring it keeps in a
// KeyStore, rotating it by configuration: when the newest key is older than
// RotateEvery a new one is added and signs from then on; the one before
// stays published (JWKS) until every token it signed has expired, then is
// deleted. It is safe for concurrent use.
type Issuer struct {
	store KeyStore
	clock clock.Clock
	opts  Options
	log   *slog.Logger

	mu       sync.Mutex
	keys     []SigningKey // by CreatedAt; the last one signs
	loadedAt time.Time
	// readAt is the last time the store was read successfully (loadedAt
	// also moves when a reload fails); failedAt the last failed read by
	// reloadFreshLocked since (zero: none).
	readAt, failedAt time.Time
}

// NewIssuer returns an issuer over store. It touches the store only when
// first used (or in Start).
func NewIssuer(store KeyStore, c clock.Clock, opts Options) (*Issuer, error) {
	if store == nil || opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("token: NewIssuer needs a store, Issuer and Audience")
	}
	if c == nil {
		c = clock.System{}
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = DefaultAccessTTL
	}
	if opts.RotateEvery <= 0 {
		opts.RotateEvery = DefaultRotateEvery
	}
	if opts.ReloadEvery <= 0 {
		opts.ReloadEvery = DefaultReloadEvery
	}
	if opts.RotateEvery < opts.AccessTTL {
		// Each key would be retired before its tokens could expire.
		return nil, fmt.Errorf("token: RotateEvery (%v) is shorter than AccessTTL (%v)", opts.RotateEvery, opts.AccessTTL)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.KEK == nil {
		kek, err := keyring.Parse(keyring.Generate())
		if err != nil {
			return nil, err
		}
		opts.KEK = kek
	}
	return &Issuer{store: store, clock: c, opts: opts, log: log}, nil
}

// AccessTTL is the lifetime of the tokens Issue makes.
func (i *Issuer) AccessTTL() time.Duration { return i.opts.AccessTTL }

// Start makes sure a signing key exists (creating the first one on a fresh
// store) and that every stored key opens with the KEK ring, sealing the
// plaintext keys of an older version, so a broken store or a wrong KEK
// (an error wrapping ErrKEK) shows at start rather than at the first
// log-in.
func (i *Issuer) Start(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.reloadLocked(ctx)
}

// InvalidateKeys makes the next use read the store again: the key ring
// changed (Rotate, on this process or another), so the new key signs and
// a retired one leaves JWKS at once rather than at the next ReloadEvery.
// It implements authn.KeyInvalidator.
func (i *Issuer) InvalidateKeys() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.loadedAt, i.readAt, i.failedAt = time.Time{}, time.Time{}, time.Time{}
}

// Issue signs an access token for c and returns it with its expiry.
func (i *Issuer) Issue(ctx context.Context, c Claims) (token string, exp time.Time, err error) {
	if c.AccountID == "" || c.TenantID == "" || c.SessionID == "" || c.AuthTime.IsZero() {
		return "", time.Time{}, errors.New("token: Issue needs AccountID, TenantID, SessionID and AuthTime")
	}
	keys, err := i.ring(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	key := keys[len(keys)-1]

	now := i.clock.Now()
	iat := jwt.NewNumericDate(now)
	exp = now.Add(i.opts.AccessTTL)
	if !c.NotAfter.IsZero() && c.NotAfter.Before(exp) {
		exp = c.NotAfter
	}
	expires := jwt.NewNumericDate(exp)
	claims := authn.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.opts.Issuer,
			Subject:   c.AccountID,
			Audience:  jwt.ClaimStrings{i.opts.Audience},
			ExpiresAt: expires,
			IssuedAt:  iat,
			ID:        cmp.Or(c.ID, ids.New()),
		},
		TenantID:  c.TenantID,
		Roles:     c.Roles,
		SessionID: c.SessionID,
		AMR:       c.AMR,
		AuthTime:  c.AuthTime.Unix(),
	}
	if !c.NotBefore.IsZero() {
		claims.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["typ"] = authn.AccessTokenType
	t.Header["kid"] = key.ID
	token, err = t.SignedString(key.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: sign: %w", err)
	}
	return token, expires.Time, nil
}

// JWKS returns the public keys of every published key, the signing one
// last, as the store held them at most authn.FreshKeysAge ago: while NATS
// is down the other services trust JWKS alone to learn that a key was
// retired (authn.KeyFreshener), so it must not wait for this process's
// ReloadEvery. When the store cannot be read it publishes the keys it has.
func (i *Issuer) JWKS(ctx context.Context) ([]authn.JWK, error) {
	i.mu.Lock()
	err := i.reloadFreshLocked(ctx)
	keys := i.keys
	i.mu.Unlock()
	if err != nil {
		if len(keys) == 0 {
			return nil, errs.Unavailable("SIGNING_KEY_UNAVAILABLE", "signing keys cannot be read right now; try again", err)
		}
		i.log.WarnContext(ctx, "token: reload signing keys for JWKS failed; publishing the cached ones", "err", err)
	}
	out := make([]authn.JWK, len(keys))
	for n, k := range keys {
		out[n] = authn.NewJWK(k.ID, k.Public())
	}
	return out, nil
}

// Keys returns the published public keys by id, so the credential service
// can verify its own tokens (authn.KeySource) without asking itself over
// gRPC.
func (i *Issuer) Keys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	keys, err := i.ring(ctx)
	if err != nil {
		return nil, err
	}
	return publicKeys(keys), nil
}

// FreshKeys returns the published public keys as the store held them at
// most authn.FreshKeysAge ago (authn.KeyFreshener): while this service's
// feed of key rotations is not current, a key retired by another replica
// or `latchkey keys rotate` is refused all the same. It reads the store at
// most once per authn.FreshKeysAge, and a store that cannot be read is an
// error, not the keys loaded before.
func (i *Issuer) FreshKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.reloadFreshLocked(ctx); err != nil {
		return nil, errs.Unavailable("SIGNING_KEY_UNAVAILABLE", "signing keys cannot be read right now; try again", err)
	}
	return publicKeys(i.keys), nil
}

// reloadFreshLocked reads the store unless the keys held were read less
// than authn.FreshKeysAge ago; after a failed read it tries again only
// FreshKeysAge later. An error means the keys held may be older than that.
func (i *Issuer) reloadFreshLocked(ctx context.Context) error {
	now := i.clock.Now()
	if len(i.keys) > 0 && now.Sub(i.readAt) < authn.FreshKeysAge {
		return nil
	}
	if !i.failedAt.IsZero() && now.Sub(i.failedAt) < authn.FreshKeysAge {
		return errors.New("token: the last read of the signing keys failed less than a second ago")
	}
	if err := i.reloadLocked(ctx); err != nil {
		i.failedAt = now
		return err
	}
	i.failedAt = time.Time{}
	return nil
}

// publicKeys is keys' public halves by id.
func publicKeys(keys []SigningKey) map[string]ed25519.PublicKey {
	out := make(map[string]ed25519.PublicKey, len(keys))
	for _, k := range keys {
		out[k.ID] = k.Public()
	}
	return out
}

// ring returns the published keys, reloading them when ReloadEvery has
// passed. The slice must not be changed.
func (i *Issuer) ring(ctx context.Context) ([]SigningKey, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.keys) == 0 || i.clock.Now().Sub(i.loadedAt) >= i.opts.ReloadEvery {
		if err := i.reloadLocked(ctx); err != nil {
			if len(i.keys) == 0 {
				return nil, errs.Unavailable("SIGNING_KEY_UNAVAILABLE", "tokens cannot be issued right now; try again", err)
			}
			// Go on with the keys we have: they are still good, and the
			// next reload may rotate or retire.
			i.log.WarnContext(ctx, "token: reload signing keys failed; using the cached ones", "err", err)
			i.loadedAt = i.clock.Now()
		}
	}
	return i.keys, nil
}

// reloadLocked reads the ring, adds a key when the newest one is due for
// rotation (or there is none), and deletes the keys whose tokens have all
// expired.
func (i *Issuer) reloadLocked(ctx context.Context) error {
	keys, err := i.openAll(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	now := i.clock.Now()

	if len(keys) == 0 || i.dueForRotation(keys[len(keys)-1], now) {
		k, err := newSigningKey(now, i.opts.RotateEvery)
		if err != nil {
			return err
		}
		newest := ""
		if len(keys) > 0 {
			newest = keys[len(keys)-1].ID
		}
		// Replicas that find the ring empty or due at once add one key
		// between them, so they all sign with it: two keys made at once
		// would each be unknown to verifiers that fetched the ring
		// between the two (and refetch it only MinRefresh later).
		added, err := i.store.AddKeyIfNewest(ctx, seal(i.opts.KEK, k), newest)
		switch {
		case err != nil && len(keys) == 0:
			return fmt.Errorf("token: add signing key: %w", err)
		case err != nil:
			// The old key keeps signing; its retirement counts from its
			// successor's creation, so nothing expires early.
			i.log.ErrorContext(ctx, "token: rotate signing key failed; the current one keeps signing", "err", err, "kid", keys[len(keys)-1].ID)
		case added:
			i.log.InfoContext(ctx, "token: new signing key", "kid", k.ID)
			keys = append(keys, k)
		default:
			// Another replica's key came first: sign with that one.
			if keys, err = i.openAll(ctx); err != nil {
				return err
			}
			slices.SortFunc(keys, func(a, b SigningKey) int {
				return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
			})
		}
	}

	// A key signs until its successor appears, and other replicas notice
	// that within ReloadEvery; their last tokens expire AccessTTL later.
	publishFor := i.opts.ReloadEvery + i.opts.AccessTTL + RetireGrace
	kept := keys[:0:0]
	for n, k := range keys {
		if n < len(keys)-1 && !now.Before(keys[n+1].CreatedAt.Add(publishFor)) {
			if err := i.store.DeleteKey(ctx, k.ID); err != nil {
				// Published a little longer does no harm; try next time.
				i.log.WarnContext(ctx, "token: delete retired signing key failed", "err", err, "kid", k.ID)
				kept = append(kept, k)
				continue
			}
			i.log.InfoContext(ctx, "token: retired signing key deleted", "kid", k.ID)
			continue
		}
		kept = append(kept, k)
	}
	i.keys = kept
	i.loadedAt, i.readAt = now, now
	return nil
}

// openAll reads every stored key and opens it with the KEK ring. A key
// not sealed under the ring's first KEK (a plaintext key of an older
// version, or one sealed under a KEK being rotated out) is sealed again
// under it, so the old KEK can be dropped once every replica has loaded.
func (i *Issuer) openAll(ctx context.Context) ([]SigningKey, error) {
	stored, err := i.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list signing keys: %w", err)
	}
	keys := make([]SigningKey, 0, len(stored))
	for _, s := range stored {
		k, err := open(i.opts.KEK, s)
		if err != nil {
			return nil, err
		}
		if s.KEKID != i.opts.KEK.Primary() {
			if err := i.store.ResealKey(ctx, seal(i.opts.KEK, k)); err != nil {
				return nil, fmt.Errorf("token: seal signing key %q: %w", k.ID, err)
			}
			if s.KEKID == "" {
				i.log.InfoContext(ctx, "token: signing key stored in plaintext by an older version now sealed", "kid", k.ID, "kek", i.opts.KEK.Primary())
			} else {
				i.log.InfoContext(ctx, "token: signing key sealed again under the first KEK", "kid", k.ID, "from_kek", s.KEKID, "kek", i.opts.KEK.Primary())
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (i *Issuer) dueForRotation(newest SigningKey, now time.Time) bool {
	if !now.Before(newest.CreatedAt.Add(i.opts.RotateEvery)) {
		return true
	}
	return !newest.RetireAt.IsZero() && !now.Before(newest.RetireAt)
}

func newSigningKey(now time.Time, rotateEvery time.Duration) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("token: generate signing key: %w", err)
	}
	now = clock.Normalize(now)
	return SigningKey{
		ID:        KeyID(pub),
		Private:   priv,
		CreatedAt: now,
		RetireAt:  now.Add(rotateEvery),
	}, nil
}
