// Package keyring seals small secrets at rest (signing keys, TOTP secrets)
// with AES-256-GCM under a ring of key-encryption keys (KEKs) taken from
// configuration, so a copy of the database alone gives nothing away.
//
// Each sealed value is stored beside the id of the KEK that sealed it. The
// first key of the ring seals new values; the others only open old ones,
// so a KEK rotates by putting the new key first, re-sealing what the old
// one sealed, and then dropping the old one.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a KEK: 256 bits, for AES-256.
const KeySize = 32

// ErrUnknownKey is returned by Open for a value sealed under a KEK the ring
// does not hold.
var ErrUnknownKey = errors.New("keyring: no key-encryption key with that id")

// ErrOpen is returned by Open when the value does not open: the KEK is not
// the one it was sealed with, or the value or its associated data were
// changed.
var ErrOpen = errors.New("keyring: sealed value does not open with its key-encryption key")

// Ring is a parsed key ring. It is safe for concurrent use.
type Ring struct {
	keys []entry // keys[0] seals
}

type entry struct {
	id   string
	aead cipher.AEAD
}

// Parse reads a ring written as a comma-separated list of keys, the one
// that seals first. A key is "id:base64" or a bare "base64" (32 bytes,
// standard or URL alphabet, padding optional); a bare key's id is derived
// from the key itself (see ID), so the same key always has the same id.
// Errors never quote the value: it is a secret.
func Parse(s string) (*Ring, error) {
	r := &Ring{}
	seen := map[string]bool{}
	for n, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("keyring: key %d is empty", n+1)
		}
		id, b64, named := strings.Cut(item, ":")
		if !named {
			id, b64 = "", item
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", n+1, err)
		}
		if !named {
			id = ID(key)
		} else if !validID(id) {
			return nil, fmt.Errorf("keyring: key %d: the id must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'", n+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("keyring: key %d: id %q appears twice", n+1, id)
		}
		seen[id] = true
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", n+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", n+1, err)
		}
		r.keys = append(r.keys, entry{id: id, aead: aead})
	}
	return r, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	var key []byte
	var err error
	if strings.ContainsAny(s, "-_") {
		key, err = base64.RawURLEncoding.DecodeString(s)
	} else {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%d bytes; want %d (base64 of 32 random bytes)", len(key), KeySize)
	}
	return key, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ID is the id of a key written without one: "k" and the first 8 bytes of
// the SHA-256 of a domain label and the key, in hex. A hash of a 256-bit
// random key tells nothing about the key.
func ID(key []byte) string {
	sum := sha256.Sum256(append([]byte("latchkey keyring id\x00"), key...))
	return "k" + hex.EncodeToString(sum[:8])
}

// Generate returns a new random KEK in the form Parse reads (bare
// base64, standard alphabet).
func Generate() string {
	key := make([]byte, KeySize)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// Primary is the id of the key that seals.
func (r *Ring) Primary() string { return r.keys[0].id }

// Has reports whether the ring holds the key id.
func (r *Ring) Has(id string) bool { return r.find(id) != nil }

func (r *Ring) find(id string) cipher.AEAD {
	for _, k := range r.keys {
		if k.id == id {
			return k.aead
		}
	}
	return nil
}

// Seal encrypts plaintext under the primary key, authenticating ad (the
// associated data: what the value belongs to, e.g. its row's id, so a
// sealed value copied to another row does not open there). It returns the
// key id to store beside the sealed value (nonce, then ciphertext and tag).
func (r *Ring) Seal(plaintext, ad []byte) (keyID string, sealed []byte) {
	k := r.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	// A random 96-bit nonce is safe for far more values than a ring
	// seals (NIST SP 800-38D: 2^32 per key).
	_, _ = rand.Read(nonce)
	return k.id, k.aead.Seal(nonce, nonce, plaintext, ad)
}

// Open decrypts what Seal returned, given the same associated data. It
// fails with ErrUnknownKey when the ring lacks keyID and with ErrOpen when
// the value does not authenticate.
func (r *Ring) Open(keyID string, sealed, ad []byte) ([]byte, error) {
	aead := r.find(keyID)
	if aead == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w (key %q): too short", ErrOpen, keyID)
	}
	nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, fmt.Errorf("%w (key %q)", ErrOpen, keyID)
	}
	return plain, nil
}
