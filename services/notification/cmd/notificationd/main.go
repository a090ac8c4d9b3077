// Command notificationd runs the notification service on its own, as
// production deployments do, configured by environment variables
// (notificationd -h lists them).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/notification/server"
)

func main() { daemon.Main(binary) }

// binary is notificationd.
var binary = daemon.Binary[server.Config]{
	Name:   "notificationd",
	About:  "notificationd runs the Latchkey notification service: e-mail templates, SMTP delivery with retries, security notices.",
	Config: server.ConfigFromEnv,
	Run: func(ctx context.Context, cfg server.Config, env daemon.Env) error {
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		return server.Run(ctx, cfg)
	},
}
