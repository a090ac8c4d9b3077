// Command accountd runs the account service on its own, as production
// deployments do, configured by environment variables (accountd -h lists
// them).
package main

import (
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/account/server"
)

func main() {
	daemon.Service("accountd", "accountd runs the Latchkey account service: tenants, accounts, roles, terms, the inactivity lock.", server.ConfigFromEnv, server.Run)
}
