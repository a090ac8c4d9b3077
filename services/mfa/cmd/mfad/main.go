// Command mfad runs the mfa service on its own, as production deployments do,
// configured by environment variables (see the README).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/mfa/server"
)

func main() {
	daemon.Main("mfad", func(env daemon.Env) (func(context.Context) error, error) {
		cfg := server.ConfigFromEnv(env.Config)
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		return func(ctx context.Context) error { return server.Run(ctx, cfg) }, nil
	})
}
