package grpcx

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/promx"
)

// register registers c on r, or returns the collector already registered
// there under the same metric names. In the all-in-one binary five
// services build their own servers and clients in one process with one
// /metrics; they share one set of series, told apart by grpc_service.
func register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	return promx.Register(r, c)
}
