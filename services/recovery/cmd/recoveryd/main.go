// Command recoveryd runs the recovery service on its own, as production
// deployments do, configured by environment variables (recoveryd -h lists
// them).
package main

import (
	"context"
	"os"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/recovery/server"
)

func main() {
	daemon.Service("recoveryd", "recoveryd runs the Latchkey recovery service: activation and reset links, security questions.", server.ConfigFromEnv,
		func(ctx context.Context, cfg server.Config) error {
			// Argon2 garbage otherwise grows with the log-in rate.
			passhash.BoundMemory(cfg.Hash.Memory(), os.Getenv)
			return server.Run(ctx, cfg)
		})
}
