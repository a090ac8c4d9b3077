package natsx

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Ready returns a check that passes while nc is connected. Latchkey's
// processes ride a NATS outage out (the outbox keeps the events until NATS
// is back), so it is a degraded state to report, not a reason to take a
// process out of service (readiness.Check.Optional).
func Ready(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}

// RegisterConnected exports whether nc is connected on reg, as the gauge
// latchkey_nats_connected{connection="<name>"} (1 or 0), so that an
// outage NATS readiness no longer shows can be graphed and alerted on.
// A gauge already registered under the same name is left as it is.
func RegisterConnected(reg prometheus.Registerer, nc *nats.Conn, name string) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "latchkey_nats_connected",
		Help:        "1 while the process's NATS connection is connected, 0 while it is not (events wait in the outbox meanwhile).",
		ConstLabels: prometheus.Labels{"connection": name},
	}, func() float64 {
		if nc.IsConnected() {
			return 1
		}
		return 0
	})
	if err := reg.Register(g); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return fmt.Errorf("natsx: registering latchkey_nats_connected: %w", err)
		}
	}
	return nil
}
