package authn

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/natsx"
)

// EnvOperatorToken names the operator API token's variable.
const EnvOperatorToken = "LATCHKEY_OPERATOR_TOKEN"

// OperatorTokenFromEnv reads the operator API token (empty when unset). A
// token CheckOperatorToken refuses is an error of l, so every binary that
// reads it refuses to start with it.
func OperatorTokenFromEnv(l *config.Loader) string {
	token := l.Secret(EnvOperatorToken, "operator API token, the same on every service, at least 32 random characters; empty: the all-in-one and accountd generate one into <data dir>/operator-token on first start, and the other service binaries accept none")
	if token != "" {
		l.Invalid(EnvOperatorToken, CheckOperatorToken(token))
	}
	return token
}

// ServerOptions configure NewServerAuthenticator.
type ServerOptions struct {
	// Token names the access tokens the service accepts.
	Token TokenConfig
	// Keys are the public keys of access tokens: the credential service's
	// own issuer there, its JWKS (CachedKeys over CredentialJWKS)
	// elsewhere.
	Keys KeySource
	// Operators admit operator API calls (nil: none).
	Operators *OperatorTokens
	// Sessions tells whether a session is live while the revocation feed
	// is behind or disconnected: the credential service's own store
	// there, CredentialSessions (its CheckSession) elsewhere. Without it
	// such tokens are refused as Unavailable.
	Sessions SessionChecker
	// Names are the deployment's names on NATS, where the revocations
	// and key rotations are followed.
	Names  natsx.Names
	Clock  clock.Clock
	Logger *slog.Logger
}

// NewServerAuthenticator is how every service authenticates its public
// calls: access tokens verified with opts.Keys, refused once their session
// is revoked or their signing key retired, and operator tokens. It follows
// the SessionRevoked and SigningKeyRotated events on js until ctx ends,
// and returns once those already published are applied, so no token of a
// session revoked, or a key retired, while the service was down is
// admitted. While the revocation feed is behind or disconnected, each
// token's session is checked with opts.Sessions instead (fail closed). A
// rotation also makes opts.Keys, when it is a KeyInvalidator, read the
// keys again, so the new key is known at once.
func NewServerAuthenticator(ctx context.Context, js jetstream.JetStream, opts ServerOptions) (*Authenticator, error) {
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	tok := opts.Token.WithDefaults()
	deny := NewDenylist(opts.Clock)
	retired := NewRetiredKeys()
	verifier, err := NewVerifier(VerifierOptions{
		Issuer: tok.Issuer, Audience: tok.Audience, Keys: opts.Keys, Clock: opts.Clock, Denylist: deny, RetiredKeys: retired,
		Sessions: opts.Sessions,
	})
	if err != nil {
		return nil, err
	}
	// A revocation matters while the session's last access token lives.
	if err := FollowRevocations(ctx, js, deny, FollowOptions{Names: opts.Names, Logger: opts.Logger, Lookback: tok.AccessTTL + DenylistGrace}); err != nil {
		return nil, err
	}
	if err := FollowKeyRotations(ctx, js, retired, opts.Keys, FollowOptions{Names: opts.Names, Logger: opts.Logger}); err != nil {
		return nil, err
	}
	return &Authenticator{Operators: opts.Operators, Tokens: verifier}, nil
}
