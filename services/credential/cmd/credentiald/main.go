// Command credentiald runs the credential service on its own, as production
// deployments do, configured by environment variables (credentiald -h lists
// them).
package main

import (
	"context"
	"os"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/credential/server"
)

func main() {
	daemon.Service("credentiald", "credentiald runs the Latchkey credential service: passwords, PINs, log-in, sessions and access tokens.", server.ConfigFromEnv,
		func(ctx context.Context, cfg server.Config) error {
			// Argon2 garbage otherwise grows with the log-in rate.
			passhash.BoundMemory(cfg.Hash.Memory(), os.Getenv)
			return server.Run(ctx, cfg)
		})
}
