// Command recoveryd runs the recovery service on its own, as production
// deployments do, configured by environment variables (recoveryd -h lists
// them).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/recovery/server"
)

func main() { daemon.Main(binary) }

// binary is recoveryd.
var binary = daemon.Binary[server.Config]{
	Name:   "recoveryd",
	About:  "recoveryd runs the Latchkey recovery service: activation and reset links, security questions.",
	Config: server.ConfigFromEnv,
	Run: func(ctx context.Context, cfg server.Config, env daemon.Env) error {
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		return server.Run(ctx, cfg)
	},
}
