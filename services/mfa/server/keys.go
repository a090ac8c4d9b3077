package server

import (
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/secretfile"
)

// EnvSecretKeys names the key ring that seals the TOTP secrets in the
// database.
const EnvSecretKeys = "LATCHKEY_MFA_SECRET_KEYS"

// SecretKeysFile is the file, in the data directory, where the all-in-one
// keeps the key ring it generates when EnvSecretKeys is unset.
const SecretKeysFile = "mfa-secret-keys"

const descSecretKeys = "key ring sealing the TOTP secrets at rest (AES-256-GCM): base64 of 32 random bytes, or id:base64,… with the sealing key first and older ones after it to rotate (a secret is sealed again under the first key at its next correct code); required by mfad; empty in the all-in-one: generated into <data dir>/" + SecretKeysFile

// secretKeysFromEnv reads EnvSecretKeys (nil when unset).
func secretKeysFromEnv(l *config.Loader) *keyring.Ring {
	s := l.Secret(EnvSecretKeys, descSecretKeys)
	if s == "" {
		return nil
	}
	ring, err := keyring.Parse(s)
	l.Invalid(EnvSecretKeys, err)
	return ring
}

// requireSecretKeys records EnvSecretKeys as required: mfad has no data
// directory of its own to generate it into.
func requireSecretKeys(l *config.Loader) { l.RequiredSecret(EnvSecretKeys, descSecretKeys) }

// errSecretKeysRequired is Run's answer to a Config without a key ring.
var errSecretKeysRequired = errors.New(EnvSecretKeys + ": required: the key ring that seals the TOTP secrets (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")

// LoadOrCreateSecretKeys returns the key ring kept in
// dataDir/SecretKeysFile, generating it on first use (mode 0600): what the
// all-in-one uses when EnvSecretKeys is unset. created reports whether it
// was made now.
func LoadOrCreateSecretKeys(dataDir string) (ring *keyring.Ring, path string, created bool, err error) {
	s, path, created, err := secretfile.LoadOrCreate(dataDir, SecretKeysFile, keyring.Generate)
	if err != nil {
		return nil, path, false, fmt.Errorf("mfa secret keys: %w", err)
	}
	if ring, err = keyring.Parse(s); err != nil {
		return nil, path, false, fmt.Errorf("mfa secret keys in %s: %w", path, err)
	}
	return ring, path, created, nil
}
