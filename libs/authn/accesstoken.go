package authn

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the JWT "typ" header of an access token (RFC 9068).
// The verifier insists on it, so that a refresh token, an ID token or any
// other JWT signed with the same keys can never be presented as an access
// token.
const AccessTokenType = "at+jwt"

// SigningAlgorithm is the only JWS algorithm access tokens use (Ed25519).
const SigningAlgorithm = "EdDSA"

// AccessClaims is the payload of an access token. The credential service
// issues it and every service verifies it with this one definition, so the
// two sides cannot drift apart.
type AccessClaims struct {
	// iss, sub (the account id), aud, exp, iat, nbf, jti.
	jwt.RegisteredClaims
	// TenantID is the tenant of the account.
	TenantID string `json:"tid"`
	// Roles are the account's roles in its tenant.
	Roles []string `json:"roles,omitempty"`
	// SessionID ties the token to the session it was issued for, so that
	// revoking the session (the denylist) refuses the token too.
	SessionID string `json:"sid"`
	// AMR lists how the user authenticated ("pwd", "otp", "pin"; RFC 8176).
	AMR []string `json:"amr,omitempty"`
	// AuthTime is when the user last proved who they are (unix seconds),
	// which step-up checks read; a refresh keeps it, a reauth renews it.
	AuthTime int64 `json:"auth_time"`
}

// JWK is a public JSON Web Key as JWKS publishes it. Only Ed25519 keys
// (kty "OKP", crv "Ed25519") are used.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	// X is the public key, base64url without padding.
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// NewJWK describes the Ed25519 public key pub, known as kid.
func NewJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: kid,
		Use: "sig",
		Alg: SigningAlgorithm,
	}
}

// PublicKey returns the Ed25519 key k describes. It refuses any other kind
// of key, and keys published for another use or algorithm, rather than
// guessing.
func (k JWK) PublicKey() (ed25519.PublicKey, error) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("authn: jwk %q: kty %q crv %q is not an Ed25519 key", k.Kid, k.Kty, k.Crv)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("authn: jwk %q: use %q is not sig", k.Kid, k.Use)
	}
	if k.Alg != "" && k.Alg != SigningAlgorithm {
		return nil, fmt.Errorf("authn: jwk %q: alg %q is not %s", k.Kid, k.Alg, SigningAlgorithm)
	}
	if k.Kid == "" {
		return nil, errors.New("authn: jwk without kid")
	}
	b, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("authn: jwk %q: x is not a base64url Ed25519 public key", k.Kid)
	}
	return ed25519.PublicKey(b), nil
}
