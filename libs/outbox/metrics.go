package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/promx"
)

// lagCollector reports the outbox's backlog when Prometheus scrapes: how
// many events wait to be published and for how long the oldest has. A
// growing age means NATS is unreachable or the relay is stuck; the
// changes themselves still commit.
type lagCollector struct {
	o                  *Outbox
	pending, oldestAge *prometheus.Desc
}

// newLagCollector describes the backlog of o, labelled with its service.
func newLagCollector(o *Outbox, service string) *lagCollector {
	labels := prometheus.Labels{"service": service}
	return &lagCollector{
		o: o,
		pending: prometheus.NewDesc("latchkey_outbox_pending_events",
			"Events committed to the service's outbox and not yet published to NATS.", nil, labels),
		oldestAge: prometheus.NewDesc("latchkey_outbox_oldest_pending_age_seconds",
			"Age of the oldest event not yet published to NATS (0 when none waits): how late subscribers are.", nil, labels),
	}
}

// RegisterMetrics puts the backlog of the outbox of service in db on r
// (nil: nowhere), read from the database at each scrape and aged by clk.
// It belongs to the database, not to a relay: it says how far behind the
// service's events are whichever replica relays them, and whether any does.
func RegisterMetrics(r prometheus.Registerer, db dbx.DB, clk clock.Clock, service string) error {
	if r == nil {
		return nil
	}
	_, err := promx.Register(r, newLagCollector(New(db, clk, service), service))
	return err
}

// lagQueryTimeout bounds the scrape's database queries, so a slow database
// does not hold the whole /metrics answer.
const lagQueryTimeout = 2 * time.Second

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.oldestAge
}

// Collect queries the backlog; when the database does not answer it
// reports nothing rather than failing the whole scrape (readiness says
// the database is down).
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), lagQueryTimeout)
	defer cancel()
	n, age, err := c.o.lag(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldestAge, prometheus.GaugeValue, age.Seconds())
}

// lag counts the unpublished rows and says how old the oldest is.
func (o *Outbox) lag(ctx context.Context) (n int, age time.Duration, err error) {
	if n, err = o.Pending(ctx); err != nil || n == 0 {
		return n, 0, err
	}
	var oldest time.Time
	err = o.db.QueryRow(ctx, "SELECT created_at FROM outbox_events WHERE sent_at IS NULL ORDER BY seq LIMIT 1").Scan(&oldest)
	if errors.Is(err, dbx.ErrNoRows) {
		return 0, 0, nil // published in between
	}
	if err != nil {
		return 0, 0, err
	}
	return n, max(0, o.clock.Now().Sub(oldest)), nil
}
