// Package authn tells each service who is calling. Every service
// authenticates calls itself rather than trusting the edge: the gateway only
// passes the Authorization header on.
//
// A caller is anonymous, holds an operator API token, or is a signed-in
// account with an access token (a JWT the credential service issued,
// checked here by a Verifier against the published keys and the denylist
// of revoked sessions).
//
// It also holds the one authorization rule every service applies: the
// roles, who is an operator, and in which tenant an administrator call
// acts (AdminTenant).
package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/errs"
)

// Kind is how a caller proved who they are.
type Kind int

// The kinds of principal.
const (
	// KindOperatorToken is automation holding an operator API token: it
	// may run every operator call, and act as an administrator of the
	// tenant it names in TenantHeader.
	KindOperatorToken Kind = iota + 1
	// KindAccount is a signed-in account (access token).
	KindAccount
)

// Principal is an authenticated caller.
type Principal struct {
	Kind Kind
	// For KindAccount: the account, its tenant and roles.
	AccountID string
	TenantID  string
	Roles     []string
	// The code of the tenant named in TenantHeader, "" when none: where an
	// operator (token, or account with the OPERATOR role) acts.
	TenantCode string
	// For KindAccount: the session the access token belongs to, how the
	// user authenticated (amr: "pwd", "otp", "pin"), when they last did
	// (step-up checks: RequireRecentAuth), and the token's id and expiry.
	SessionID string
	AMR       []string
	AuthTime  time.Time
	TokenID   string
	ExpiresAt time.Time
}

// TenantHeader is the metadata key (REST: the Latchkey-Tenant header) in
// which an operator names the tenant to act in.
const TenantHeader = "latchkey-tenant"

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil for an anonymous call.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Require returns the caller, or Unauthenticated for an anonymous call.
func Require(ctx context.Context) (*Principal, error) {
	if p := FromContext(ctx); p != nil {
		return p, nil
	}
	return nil, ErrCredentialsMissing()
}

// TenantCode returns the tenant an operator names in TenantHeader, or "".
func TenantCode(ctx context.Context) string {
	// ValueFromIncomingContext copies the one key, not all the metadata
	// (every call of every service comes here).
	if v := metadata.ValueFromIncomingContext(ctx, TenantHeader); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// OperatorTokens holds the SHA-256 of the operator API tokens; the tokens
// themselves are never kept, so a memory dump does not give them away.
type OperatorTokens struct {
	hashes [][sha256.Size]byte
}

// NewOperatorTokens keeps the hashes of tokens (empty ones are skipped).
func NewOperatorTokens(tokens ...string) *OperatorTokens {
	o := &OperatorTokens{}
	for _, t := range tokens {
		if t != "" {
			o.hashes = append(o.hashes, sha256.Sum256([]byte(t)))
		}
	}
	return o
}

// Len is how many tokens are configured.
func (o *OperatorTokens) Len() int {
	if o == nil {
		return 0
	}
	return len(o.hashes)
}

// Match reports whether token is one of the operator tokens, comparing in
// constant time against every one of them.
func (o *OperatorTokens) Match(token string) bool {
	if o == nil {
		return false
	}
	h := sha256.Sum256([]byte(token))
	found := 0
	for _, want := range o.hashes {
		found |= subtle.ConstantTimeCompare(h[:], want[:])
	}
	return found == 1
}

// NewToken returns a fresh random operator token (256 bits).
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("authn: no randomness: " + err.Error())
	}
	return "lko_" + base64.RawURLEncoding.EncodeToString(b)
}

// Authenticator turns a call's Authorization metadata into a Principal.
type Authenticator struct {
	Operators *OperatorTokens
	// Tokens, when set, admits accounts' access tokens.
	Tokens *Verifier
}

// Authenticate returns the principal of ctx's credentials: nil when the
// call carries none, Unauthenticated when they are not valid. A call with
// bad credentials is refused even on routes that need none, so a client
// learns at once that its token is wrong.
func (a *Authenticator) Authenticate(ctx context.Context) (*Principal, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(values) == 0 {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return nil, errs.Unauthenticated("CREDENTIALS_MALFORMED", "the Authorization header must be: Bearer <token>")
	}
	if a.Operators.Match(token) {
		return &Principal{Kind: KindOperatorToken, TenantCode: TenantCode(ctx)}, nil
	}
	if a.Tokens != nil && looksLikeJWT(token) {
		// Its reasons (ACCESS_TOKEN_EXPIRED, SESSION_REVOKED) tell the
		// client whether to refresh or to log in again.
		p, err := a.Tokens.Verify(ctx, token)
		if err != nil {
			return nil, err
		}
		// An operator account acts in another tenant the same way an
		// operator token does.
		p.TenantCode = TenantCode(ctx)
		return p, nil
	}
	return nil, errs.Unauthenticated("CREDENTIALS_INVALID", "the token is not valid")
}

// UnaryInterceptor authenticates every unary call and puts the principal
// in its context.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, err := a.Authenticate(ctx)
		if err != nil {
			return nil, err
		}
		if p != nil {
			ctx = WithPrincipal(ctx, p)
		}
		return handler(ctx, req)
	}
}

// looksLikeJWT reports whether token has the three dot-separated parts of a
// compact JWS; operator tokens never contain a dot.
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2
}
