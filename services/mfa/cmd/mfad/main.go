// Command mfad runs the mfa service on its own, as production
// deployments do, configured by environment variables (mfad -h lists
// them).
package main

import (
	"context"
	"os"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/mfa/server"
)

func main() {
	daemon.Service("mfad", "mfad runs the Latchkey mfa service: TOTP factors, key requests by e-mail, recovery codes.", server.ConfigFromEnv,
		func(ctx context.Context, cfg server.Config) error {
			// Argon2 garbage otherwise grows with the log-in rate.
			passhash.BoundMemory(cfg.Hash.Memory(), os.Getenv)
			return server.Run(ctx, cfg)
		})
}
