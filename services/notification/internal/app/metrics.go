package app

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/promx"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

// Metrics count e-mail delivery attempts by how they ended, which an
// on-call person watches for an SMTP server that refuses or is down. A
// nil *Metrics counts nothing.
type Metrics struct {
	attempts *prometheus.CounterVec
}

// NewMetrics registers the notification service's metrics on r (nil:
// none).
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	attempts, err := promx.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_notification_email_deliveries_total",
		Help: "E-mail delivery attempts by outcome: sent, retrying (a temporary failure, tried again later), " +
			"failed (a permanent failure or the last retry) or rate_limited (over a per-address or per-tenant limit; not sent).",
	}, []string{"outcome"}))
	if err != nil {
		return nil, err
	}
	for _, s := range []delivery.Status{delivery.Sent, delivery.Retrying, delivery.Failed, delivery.RateLimited} {
		attempts.WithLabelValues(outcomeLabel(s)) // every outcome shows, at 0, before it first happens
	}
	return &Metrics{attempts: attempts}, nil
}

// attempted counts one attempt that left the delivery in status s.
func (m *Metrics) attempted(s delivery.Status) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(outcomeLabel(s)).Inc()
}

func outcomeLabel(s delivery.Status) string { return strings.ToLower(string(s)) }
