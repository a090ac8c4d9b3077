package passhash

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/promx"
)

// hasherMetrics are what an on-call person reads of the pool: how long
// callers wait for a slot and how many are refused as busy. The queue's
// length is read from the hasher at each scrape.
type hasherMetrics struct {
	wait prometheus.Histogram
	busy prometheus.Counter
}

// Register puts the pool's metrics on r, labelled with service: the
// queue's length and capacity, the wait for a slot and the busy refusals
// (nil r: none). Call it before the hasher is used. A hasher shared by
// several services (Settings.Shared) keeps its first registration, whose
// label names them all; the services' own calls do nothing.
func (h *Hasher) Register(r prometheus.Registerer, service string) error {
	if r == nil || h.metrics.Load() != nil {
		return nil
	}
	labels := prometheus.Labels{"service": service}
	var m hasherMetrics
	var err error
	if m.wait, err = promx.Register(r, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "latchkey_password_hash_wait_seconds",
		Help:        "Time a password hash or check waited for a slot of the bounded Argon2 pool (0 when one was free).",
		Buckets:     []float64{0.001, 0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		ConstLabels: labels,
	})); err != nil {
		return err
	}
	if m.busy, err = promx.Register(r, prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "latchkey_password_hash_busy_total",
		Help:        "Callers refused with PASSWORD_HASHER_BUSY (HTTP 503): the pool's queue was full, or their deadline passed while they waited.",
		ConstLabels: labels,
	})); err != nil {
		return err
	}
	if _, err = promx.Register(r, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "latchkey_password_hash_queue_length",
		Help:        "Callers waiting now for a slot of the Argon2 pool.",
		ConstLabels: labels,
	}, func() float64 { return float64(h.waiting.Load()) })); err != nil {
		return err
	}
	if _, err = promx.Register(r, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "latchkey_password_hash_queue_capacity",
		Help:        "How many callers may wait for a slot before the next is refused as busy (LATCHKEY_HASH_QUEUE).",
		ConstLabels: labels,
	}, func() float64 { return float64(h.queue) })); err != nil {
		return err
	}
	h.metrics.Store(&m)
	return nil
}

// waited records a wait for a slot that began at start.
func (h *Hasher) waited(start time.Time) {
	if m := h.metrics.Load(); m != nil {
		m.wait.Observe(time.Since(start).Seconds())
	}
}

// refused counts a busy refusal and returns its error.
func (h *Hasher) refused(cause error) error {
	if m := h.metrics.Load(); m != nil {
		m.busy.Inc()
	}
	return busy(cause)
}
