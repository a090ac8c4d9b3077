package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
)

// Reasons of the errors Verify returns. A client that gets
// ACCESS_TOKEN_EXPIRED refreshes; after the other two it must log in
// again.
const (
	ReasonAccessTokenInvalid = "ACCESS_TOKEN_INVALID"
	ReasonAccessTokenExpired = "ACCESS_TOKEN_EXPIRED"
	ReasonSessionRevoked     = "SESSION_REVOKED"
	// ReasonKeysUnavailable: the signing keys could not be fetched yet
	// (Unavailable, 503): the token may well be good, so the client retries
	// rather than throwing it away.
	ReasonKeysUnavailable = "SIGNING_KEYS_UNAVAILABLE"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// maxTokenSize bounds what Verify will parse; a real access token is well
// under 1 KiB.
const maxTokenSize = 8 << 10

// VerifierOptions configure NewVerifier. Issuer, Audience and Keys are
// required.
type VerifierOptions struct {
	// Issuer is the expected iss.
	Issuer string
	// Audience is the expected aud (one of the token's audiences).
	Audience string
	// Keys gives the public keys; a KeyRefresher is asked again once when
	// a token names an unknown key.
	Keys KeySource
	// Clock defaults to the system clock.
	Clock clock.Clock
	// Denylist, when set, refuses the tokens of revoked sessions.
	Denylist *Denylist
	// Sessions is asked about a token's session while Denylist is not
	// current (its feed is behind or disconnected); without it such
	// tokens are refused as Unavailable. Revocation never fails open.
	Sessions SessionChecker
	// RetiredKeys, when set, refuses the tokens of retired signing keys,
	// even while Keys still lists them; while it is not current and Keys
	// is a KeyFreshener, only keys Keys publishes now are trusted.
	RetiredKeys *RetiredKeys
	// Leeway is the clock skew allowed (default DefaultLeeway).
	Leeway time.Duration
}

// Verifier checks access tokens: signature (EdDSA only, by kid), typ,
// issuer, audience, expiry and the session denylist. It is safe for
// concurrent use.
type Verifier struct {
	opts     VerifierOptions
	parser   *jwt.Parser
	sessions *sessionCheck
	verified *verifiedTokens
}

// NewVerifier returns a verifier for opts.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if opts.Issuer == "" || opts.Audience == "" || opts.Keys == nil {
		return nil, errors.New("authn: NewVerifier needs Issuer, Audience and Keys")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Leeway <= 0 {
		opts.Leeway = DefaultLeeway
	}
	return &Verifier{
		opts:     opts,
		sessions: newSessionCheck(opts.Sessions, opts.Denylist),
		verified: newVerifiedTokens(maxVerifiedTokens),
		parser: jwt.NewParser(
			// The allow-list is what stops "none" and HS256-with-the-
			// public-key-as-secret: the method comes from the token, so
			// it must never be trusted.
			jwt.WithValidMethods([]string{SigningAlgorithm}),
			jwt.WithIssuer(opts.Issuer),
			jwt.WithAudience(opts.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(opts.Leeway),
			jwt.WithTimeFunc(opts.Clock.Now),
			jwt.WithStrictDecoding(),
		),
	}, nil
}

// Verify checks token and returns the account it was issued to. Every
// failure is Unauthenticated with one of the Reason* codes and a fixed
// message; what exactly was wrong goes only into the error's cause, for
// the log. The one exception is keys that could not be fetched at all
// (Unavailable, ReasonKeysUnavailable).
//
// A token already verified is not parsed and its signature not checked
// again while it lives (verifiedTokens says why that is safe); its key
// and its session are checked at every call as before.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if len(token) > maxTokenSize {
		return nil, invalidToken(errors.New("token too large"))
	}
	sum := sha256.Sum256([]byte(token))
	if p, ok := v.verified.get(sum, v.opts.Clock.Now(), func(kid string) (ed25519.PublicKey, error) { return v.keyFor(ctx, kid) }); ok {
		if err := v.checkSession(ctx, p.TenantID, p.SessionID, p.ExpiresAt); err != nil {
			return nil, err
		}
		return p, nil
	}
	var claims AccessClaims
	var key ed25519.PublicKey
	parsed, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		k, err := v.key(ctx, t)
		key = k
		return k, err
	})
	switch {
	case errors.Is(err, errKeysUnavailable):
		return nil, errs.Unavailable(ReasonKeysUnavailable, "access tokens cannot be checked right now; try again", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		// Reported only for a token whose signature is good: jwt/v5
		// validates claims after the signature.
		return nil, errs.Unauthenticated(ReasonAccessTokenExpired, "the access token has expired").WithCause(err)
	case err != nil:
		return nil, invalidToken(err)
	}
	if claims.Subject == "" || claims.TenantID == "" || claims.SessionID == "" {
		return nil, invalidToken(errors.New("sub, tid or sid missing"))
	}
	var exp time.Time
	if claims.ExpiresAt != nil {
		exp = claims.ExpiresAt.Time
	}
	if err := v.checkSession(ctx, claims.TenantID, claims.SessionID, exp); err != nil {
		return nil, err
	}
	p := &Principal{
		Kind:      KindAccount,
		AccountID: claims.Subject,
		TenantID:  claims.TenantID,
		Roles:     claims.Roles,
		SessionID: claims.SessionID,
		AMR:       claims.AMR,
		TokenID:   claims.ID,
	}
	if claims.AuthTime > 0 {
		p.AuthTime = time.Unix(claims.AuthTime, 0).UTC()
	}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.UTC()
	}
	kid, _ := parsed.Header["kid"].(string)
	v.verified.put(sum, kid, key, p)
	return p, nil
}

// checkSession refuses the token of a revoked session: at every call,
// whether the token's signature was checked now or before.
func (v *Verifier) checkSession(ctx context.Context, tenantID, sessionID string, exp time.Time) error {
	d := v.opts.Denylist
	if d == nil {
		return nil
	}
	if d.Revoked(sessionID) {
		return errSessionRevoked()
	}
	// A list that may be missing revocations (NATS down, the feed
	// behind) is not trusted alone: the credential service decides.
	if !d.Current() {
		return v.sessions.check(ctx, tenantID, sessionID, exp)
	}
	return nil
}

// key finds the verification key of t, after checking its header.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (ed25519.PublicKey, error) {
	// RFC 8725 §3.11: compare typ without the optional "application/".
	typ, _ := t.Header["typ"].(string)
	typ = strings.ToLower(typ)
	if strings.TrimPrefix(typ, "application/") != AccessTokenType {
		return nil, errors.New("typ is not " + AccessTokenType)
	}
	kid, _ := t.Header["kid"].(string)
	return v.keyFor(ctx, kid)
}

// keyFor finds the key named kid among those trusted now: not retired,
// published (freshly, while the retirements' feed is behind).
func (v *Verifier) keyFor(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if kid == "" {
		return nil, errors.New("no kid")
	}
	if v.opts.RetiredKeys.Retired(kid) {
		return nil, errors.New("retired kid")
	}
	if f, ok := v.opts.Keys.(KeyFreshener); ok && !v.opts.RetiredKeys.Current() {
		// The feed of retirements may be missing one (NATS down, just
		// back, or behind): only keys the key service publishes now
		// count, and none when it cannot be asked (fail closed).
		keys, err := f.FreshKeys(ctx)
		if err != nil {
			return nil, keysUnavailable(err)
		}
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("kid not published")
	}
	keys, err := v.opts.Keys.Keys(ctx)
	if err != nil {
		return nil, keysUnavailable(err)
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	// A key rotated in since the last fetch: look once more (the refresher
	// rate-limits this, so made-up kids cannot hammer the key service).
	if r, ok := v.opts.Keys.(KeyRefresher); ok {
		if keys, err = r.Refresh(ctx); err != nil {
			return nil, keysUnavailable(err)
		}
		if k, ok := keys[kid]; ok {
			return k, nil
		}
	}
	return nil, errors.New("unknown kid")
}

func errSessionRevoked() error {
	return errs.Unauthenticated(ReasonSessionRevoked, "the session has ended; log in again")
}

func invalidToken(cause error) error {
	return errs.Unauthenticated(ReasonAccessTokenInvalid, "the access token is not valid").WithCause(cause)
}

func keysUnavailable(err error) error {
	if errors.Is(err, errKeysUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", errKeysUnavailable, err)
}
