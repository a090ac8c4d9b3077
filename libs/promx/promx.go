// Package promx registers Prometheus collectors the way every Latchkey
// package does: a collector already registered under the same names is
// shared rather than refused, because in the all-in-one binary (and in
// tests) several services or instances of a package register on one
// registry and tell their series apart by labels.
package promx

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on r, or returns the collector of the same type
// already registered there under the same metric names.
func Register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	err := r.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
