// Command credentiald runs the credential service on its own, as
// production deployments do, configured by environment variables
// (credentiald -h lists them).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/credential/server"
)

func main() { daemon.Main(binary) }

// binary is credentiald.
var binary = daemon.Binary[server.Config]{
	Name:   "credentiald",
	About:  "credentiald runs the Latchkey credential service: passwords, PINs, log-in, sessions and access tokens.",
	Config: server.ConfigFromEnv,
	Run: func(ctx context.Context, cfg server.Config, env daemon.Env) error {
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		return server.Run(ctx, cfg)
	},
}
