// Command accountd runs the account service on its own, as production deployments do,
// configured by environment variables (see the README).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/account/server"
)

func main() {
	daemon.Main("accountd", func(env daemon.Env) (func(context.Context) error, error) {
		cfg := server.ConfigFromEnv(env.Config)
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		if cfg.OperatorTokens.Len() == 0 && env.Config.Err() == nil {
			// No token configured: the first start makes one, so an
			// operator can always get in.
			token, path, created, err := authn.LoadOrCreateOperatorToken(cfg.DataDir)
			if err != nil {
				return nil, err
			}
			cfg.OperatorTokens = authn.NewOperatorTokens(token)
			env.Logger.Info("operator token", "path", path, "generated", created)
		}
		return func(ctx context.Context) error { return server.Run(ctx, cfg) }, nil
	})
}
