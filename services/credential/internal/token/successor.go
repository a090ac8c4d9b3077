package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// successorInfo binds the derived key to this one use (HKDF info), so it
// is never the same value as the stored hash of the token.
const successorInfo = "latchkey refresh-token successor v1"

// ErrSuccessor is OpenSuccessor's answer to a sealed value that the
// presented token does not open.
var ErrSuccessor = errors.New("token: the successor does not open with this token")

// SealSuccessor seals next, the refresh token that replaced prev, under a
// key derived from prev (HKDF-SHA256, AES-256-GCM). Only the holder of
// prev can open it, and the database keeps prev's SHA-256 alone, so a copy
// of the database does not give the successor away.
func SealSuccessor(prev, next string) []byte {
	aead := successorAEAD(prev)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails (Go 1.24+)
	return aead.Seal(nonce, nonce, []byte(next), nil)
}

// OpenSuccessor returns the refresh token SealSuccessor sealed for prev.
func OpenSuccessor(prev string, sealed []byte) (string, error) {
	aead := successorAEAD(prev)
	if len(sealed) < aead.NonceSize() {
		return "", ErrSuccessor
	}
	next, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return "", ErrSuccessor
	}
	return string(next), nil
}

func successorAEAD(prev string) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, []byte(prev), nil, successorInfo, 32)
	if err != nil {
		panic(err) // only for a key length HKDF-SHA256 cannot give
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // 32 bytes is a valid AES key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
