// Command credentiald runs the credential service on its own, as production
// deployments do, configured by environment variables (credentiald -h lists
// them).
package main

import (
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/credential/server"
)

func main() {
	daemon.Service("credentiald", "credentiald runs the Latchkey credential service: passwords, PINs, log-in, sessions and access tokens.", server.ConfigFromEnv, server.Run)
}
