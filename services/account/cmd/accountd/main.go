// Command accountd runs the account service on its own, as production
// deployments do, configured by environment variables (accountd -h lists
// them).
package main

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/account/server"
)

func main() { daemon.Main(binary) }

// binary is accountd.
var binary = daemon.Binary[server.Config]{
	Name:   "accountd",
	About:  "accountd runs the Latchkey account service: tenants, accounts, roles, terms, the inactivity lock.",
	Config: server.ConfigFromEnv,
	Run: func(ctx context.Context, cfg server.Config, env daemon.Env) error {
		cfg.Logger, cfg.Registerer = env.Logger, env.Registry
		if cfg.OperatorTokens.Len() == 0 {
			// No token configured: the first start makes one, so an
			// operator can always get in.
			token, path, created, err := authn.LoadOrCreateOperatorToken(cfg.DataDir)
			if err != nil {
				return err
			}
			cfg.OperatorTokens = authn.NewOperatorTokens(token)
			env.Logger.Info("operator token", "path", path, "generated", created)
		}
		return server.Run(ctx, cfg)
	},
}
