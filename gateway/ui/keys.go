package ui

import (
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/secretfile"
)

// EnvSessionKeys names the key ring that seals the hosted pages' session
// cookie.
const EnvSessionKeys = "LATCHKEY_UI_SESSION_KEYS"

// SessionKeysFile is the file, in the data directory, where the all-in-one
// keeps the key ring it generates when EnvSessionKeys is unset.
const SessionKeysFile = "ui-session-keys"

const descSessionKeys = "key ring sealing the hosted pages' session cookie (AES-256-GCM): base64 of 32 random bytes, or id:base64,… with the sealing key first and older ones after it to rotate (sessions sealed under a dropped key end); required by gatewayd; empty in the all-in-one: generated into <data dir>/" + SessionKeysFile

// SessionKeysFromEnv reads EnvSessionKeys (nil when unset).
func SessionKeysFromEnv(l *config.Loader) *keyring.Ring {
	s := l.Secret(EnvSessionKeys, descSessionKeys)
	if s == "" {
		return nil
	}
	ring, err := keyring.Parse(s)
	l.Invalid(EnvSessionKeys, err)
	return ring
}

// RequireSessionKeys records EnvSessionKeys as required: gatewayd has no
// data directory of its own to generate it into.
func RequireSessionKeys(l *config.Loader) { l.RequiredSecret(EnvSessionKeys, descSessionKeys) }

// ErrSessionKeysRequired is the answer to a configuration without a key ring.
var ErrSessionKeysRequired = errors.New(EnvSessionKeys + ": required: the key ring that seals the hosted pages' session cookie (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")

// LoadOrCreateSessionKeys returns the key ring kept in
// dataDir/SessionKeysFile, generating it on first use (mode 0600): what the
// all-in-one uses when EnvSessionKeys is unset. created reports whether it
// was made now.
func LoadOrCreateSessionKeys(dataDir string) (ring *keyring.Ring, path string, created bool, err error) {
	s, path, created, err := secretfile.LoadOrCreate(dataDir, SessionKeysFile, keyring.Generate)
	if err != nil {
		return nil, path, false, fmt.Errorf("ui session keys: %w", err)
	}
	if ring, err = keyring.Parse(s); err != nil {
		return nil, path, false, fmt.Errorf("ui session keys in %s: %w", path, err)
	}
	return ring, path, created, nil
}
