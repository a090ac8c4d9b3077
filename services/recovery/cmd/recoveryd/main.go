// Command recoveryd runs the recovery service on its own, as production
// deployments do, configured by environment variables (recoveryd -h lists
// them).
package main

import (
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/recovery/server"
)

func main() {
	daemon.Service("recoveryd", "recoveryd runs the Latchkey recovery service: activation and reset links, security questions.", server.ConfigFromEnv, server.Run)
}
