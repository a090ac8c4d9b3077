package token

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/libs/keyring"
)

// ErrKEK marks a stored signing key that the configured key-encryption
// key ring cannot open: the ring lacks its KEK, holds another key under
// that id, or the row was altered (e.g. its sealed key swapped with
// another row's). The server names its setting in the message.
var ErrKEK = errors.New("the key-encryption key ring does not open a stored signing key")

// associatedData binds a sealed private key to its key id, so a sealed key
// copied onto another row does not open there.
func associatedData(id string) []byte {
	return []byte("latchkey/credential/signing-key\x00" + id)
}

// seal is k as stored, its private key sealed under kek's primary key.
func seal(kek *keyring.Ring, k SigningKey) StoredKey {
	kekID, sealed := kek.Seal(k.Private.Seed(), associatedData(k.ID))
	return StoredKey{ID: k.ID, KEKID: kekID, Sealed: sealed, CreatedAt: k.CreatedAt, RetireAt: k.RetireAt}
}

// open is s with its private key opened with kek (or taken as it is when
// s predates encryption at rest), checked against its id.
func open(kek *keyring.Ring, s StoredKey) (SigningKey, error) {
	var seed []byte
	switch {
	case s.KEKID == "":
		// A plaintext key of an older version: the whole private key.
		if len(s.Sealed) != ed25519.PrivateKeySize {
			return SigningKey{}, fmt.Errorf("token: signing key %q in the store is malformed", s.ID)
		}
		seed = ed25519.PrivateKey(s.Sealed).Seed()
	default:
		var err error
		if seed, err = kek.Open(s.KEKID, s.Sealed, associatedData(s.ID)); err != nil {
			return SigningKey{}, fmt.Errorf("%w: signing key %q: %w", ErrKEK, s.ID, err)
		}
		if len(seed) != ed25519.SeedSize {
			return SigningKey{}, fmt.Errorf("token: signing key %q in the store is malformed", s.ID)
		}
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k := SigningKey{ID: s.ID, Private: priv, CreatedAt: s.CreatedAt, RetireAt: s.RetireAt}
	if KeyID(k.Public()) != s.ID {
		return SigningKey{}, fmt.Errorf("token: signing key %q in the store does not match its id", s.ID)
	}
	return k, nil
}
