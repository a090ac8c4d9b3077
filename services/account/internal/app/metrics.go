package app

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/promx"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Metrics count account locks by reason, which an on-call person watches
// for a password-guessing wave (failed_attempts) or a sweep gone wrong
// (inactivity). A nil *Metrics counts nothing.
type Metrics struct {
	locks *prometheus.CounterVec
}

// NewMetrics registers the account service's metrics on r (nil: none).
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	locks, err := promx.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_account_locks_total",
		Help: "Accounts locked, by reason: failed_attempts (too many wrong log-ins), inactivity (the inactivity sweep) or admin.",
	}, []string{"reason"}))
	if err != nil {
		return nil, err
	}
	for _, r := range []account.LockReason{account.LockFailedAttempts, account.LockInactivity, account.LockAdmin} {
		locks.WithLabelValues(lockLabel(r)) // every reason shows, at 0, before its first lock
	}
	return &Metrics{locks: locks}, nil
}

// locked counts n accounts locked for reason.
func (m *Metrics) locked(reason account.LockReason, n int) {
	if m == nil || n == 0 {
		return
	}
	m.locks.WithLabelValues(lockLabel(reason)).Add(float64(n))
}

func lockLabel(r account.LockReason) string { return strings.ToLower(string(r)) }
