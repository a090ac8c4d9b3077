// Command mfad runs the mfa service on its own, as production
// deployments do, configured by environment variables (mfad -h lists
// them).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/mfa/server"
)

func main() { daemon.Main(binary) }

// binary is mfad.
var binary = daemon.Binary[server.Config]{
	Name:   "mfad",
	About:  "mfad runs the Latchkey mfa service: TOTP factors, key requests by e-mail, recovery codes.",
	Config: server.ConfigFromEnv,
	Run: func(ctx context.Context, cfg server.Config, env daemon.Env) error {
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		return server.Run(ctx, cfg)
	},
}
