// Package token issues what the credential service hands out: access tokens
// (JWT, EdDSA) signed with a rotating key ring, and the opaque secrets
// behind refresh tokens, device keys and log-in tickets.
//
// Verifying access tokens is not here but in libs/authn, which every
// service uses; this package and that one share the claims
// (authn.AccessClaims) and the key format (authn.JWK).
package token

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// SigningKey is one key of the ring, as the issuer holds it in memory.
type SigningKey struct {
	// ID is the JWT kid: the RFC 7638 thumbprint of the public key.
	ID      string
	Private ed25519.PrivateKey
	// CreatedAt is when the key was made; the newest key signs.
	CreatedAt time.Time
	// RetireAt is when the key stops signing new tokens: set to CreatedAt
	// plus Options.RotateEvery when the key is made. Rotate (latchkey keys
	// rotate) replaces a key before then.
	RetireAt time.Time
}

// Public is the key's public half.
func (k SigningKey) Public() ed25519.PublicKey {
	return k.Private.Public().(ed25519.PublicKey)
}

// StoredKey is a signing key as the KeyStore keeps it: the private key
// sealed with AES-256-GCM under a key-encryption key (KEK) from
// configuration, which the database never holds, so whoever reads the
// database cannot mint access tokens.
type StoredKey struct {
	ID string
	// KEKID names the KEK of the ring that sealed Sealed. Empty: Sealed is
	// the plaintext private key a version before encryption at rest
	// stored; the issuer seals it when it next loads the ring.
	KEKID  string
	Sealed []byte
	// CreatedAt and RetireAt are SigningKey's.
	CreatedAt time.Time
	RetireAt  time.Time
}

// KeyStore persists the key ring. Implementations must keep every field
// exactly (times to the microsecond, see clock.Normalize); keystoretest
// is the suite each one passes.
type KeyStore interface {
	// ListKeys returns every key, in any order.
	ListKeys(ctx context.Context) ([]StoredKey, error)
	// AddKey stores a new key; an ID already stored is an error.
	AddKey(ctx context.Context, k StoredKey) error
	// AddKeyIfNewest stores k only while the newest stored key (by
	// CreatedAt, then ID) is still newest ("" for none), atomically across
	// every replica over the store: of replicas that find the ring empty
	// or due at once, one adds its key and the others use it (false).
	AddKeyIfNewest(ctx context.Context, k StoredKey, newest string) (added bool, err error)
	// DeleteKey removes a key; an ID not stored is not an error (two
	// replicas may retire the same key at once).
	DeleteKey(ctx context.Context, id string) error
	// ResealKey replaces KEKID and Sealed of the stored key k.ID, keeping
	// its other fields; an ID not stored is not an error (it was deleted
	// meanwhile).
	ResealKey(ctx context.Context, k StoredKey) error
}

// KeyID is the RFC 7638 JWK thumbprint of pub: the same key always gets
// the same id, and the id says nothing but which key it is.
func KeyID(pub ed25519.PublicKey) string {
	// The members required for an OKP key, in lexicographic order, no
	// whitespace (RFC 8037 §2, RFC 7638 §3.2).
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
