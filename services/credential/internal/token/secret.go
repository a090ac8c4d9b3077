package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// SecretBytes is the entropy of an opaque secret: 256 bits.
const SecretBytes = 32

// NewSecret returns a fresh opaque secret (refresh token, device key,
// log-in ticket) and its SHA-256. Only the hash is stored; the plain value
// goes to the client once. A fast hash is enough here, unlike for
// passwords: 256 random bits cannot be guessed, only stolen.
func NewSecret() (plain string, hash [32]byte) {
	b := make([]byte, SecretBytes)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+); it
	// crashes the program rather than return predictable bytes.
	_, _ = rand.Read(b)
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, HashSecret(plain)
}

// HashSecret is the SHA-256 of plain, as stored for look-up.
func HashSecret(plain string) [32]byte {
	return sha256.Sum256([]byte(plain))
}

// Equal compares two secret hashes in constant time. Looking a secret up
// by its hash in an index already leaks nothing useful; Equal is for
// comparing a presented secret with one already loaded.
func Equal(a, b [32]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
