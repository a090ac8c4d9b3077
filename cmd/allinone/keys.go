package allinone

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/libs/natsauth"
	credential "github.com/latchkey/latchkey/services/credential/server"
)

// RotateSigningKey is `latchkey keys rotate`: a new access-token signing
// key becomes current at once, and with retireCurrent the one that signed
// until now leaves JWKS and its tokens are refused within a second by the
// running suite. It works on the credential database directly, as
// `latchkey migrate` does, with the suite's KEK (configured, or the one
// Start generated into the data directory), and tells the running
// services through NATS (cfg.NATSURL, or the embedded NATS's address).
func RotateSigningKey(ctx context.Context, cfg Config, retireCurrent bool) (credential.KeyRotation, error) {
	c := credential.Config{Tuning: cfg.Credential}
	c.PostgresURL, c.DataDir, c.NATSURL, c.Clock, c.Logger = cfg.PostgresURL, cfg.DataDir, cfg.NATSURL, cfg.Clock, cfg.Logger
	c.NATSNames, c.NATSNKeyFile = cfg.NATSNames, cfg.NATSNKeyFile
	if c.NATSNKeyFile == "" && cfg.NATSNKeyDir != "" {
		c.NATSNKeyFile = natsauth.SeedFile(cfg.NATSNKeyDir, credential.Name)
	}
	if c.NATSURL == "" {
		c.NATSURL = "nats://" + cfg.EmbeddedNATSAddr
	}
	if c.KEK == nil {
		// Start's generated KEK, never generated here: keys sealed under
		// another one would not open.
		if _, err := os.Stat(filepath.Join(cfg.DataDir, credential.KEKFile)); errors.Is(err, fs.ErrNotExist) {
			return credential.KeyRotation{}, fmt.Errorf("no signing-key KEK: set %s or start `latchkey run` once", credential.EnvSigningKeyKEK)
		}
		var err error
		if c.KEK, _, _, err = credential.LoadOrCreateKEK(cfg.DataDir); err != nil {
			return credential.KeyRotation{}, err
		}
	}
	return credential.RotateSigningKey(ctx, c, retireCurrent)
}
