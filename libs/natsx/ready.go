package natsx

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Ready returns a readiness check that passes while nc is connected.
func Ready(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}
