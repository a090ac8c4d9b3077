// Command notificationd runs the notification service on its own, as production
// deployments do, configured by environment variables (notificationd -h lists
// them).
package main

import (
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/services/notification/server"
)

func main() {
	daemon.Service("notificationd", "notificationd runs the Latchkey notification service: e-mail templates, SMTP delivery with retries, security notices.", server.ConfigFromEnv, server.Run)
}
