package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// TestMetrics_DeliveriesCountedByOutcome sends to an address that works,
// one the server refuses for good, one it turns away for now, and one
// past its rate limit: each attempt is counted once under its outcome.
func TestMetrics_DeliveriesCountedByOutcome(t *testing.T) {
	const tenant = "0193a000-0000-7000-8000-000000000001"
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "notification")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	m, err := app.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	refusals := map[string]error{
		"gone@example.com": &textproto.Error{Code: 550, Msg: "no such mailbox"},
		"busy@example.com": &textproto.Error{Code: 451, Msg: "try again later"},
	}
	use := app.New(sqlstore.New(db, outbox.New(db, clk, "notification")), clk, nil,
		senderFunc(func(e *mailer.Envelope) error { return refusals[e.To] }), app.Options{
			Limits:  store.Limits{PerRecipient: 1, Window: time.Hour},
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Metrics: m,
		})
	for i, to := range []string{"ok@example.com", "gone@example.com", "busy@example.com", "ok@example.com"} {
		if _, err := use.SendNotification(ctx, delivery.Request{
			RequestID: string(rune('a' + i)), TenantID: tenant, Template: delivery.PasswordChanged, RecipientAddress: to,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := use.DeliverDue(ctx); err != nil || n != 4 {
		t.Fatalf("DeliverDue = %d, %v; want 4", n, err)
	}

	want := `
# HELP latchkey_notification_email_deliveries_total E-mail delivery attempts by outcome: sent, retrying (a temporary failure, tried again later), failed (a permanent failure or the last retry) or rate_limited (over a per-address or per-tenant limit; not sent).
# TYPE latchkey_notification_email_deliveries_total counter
latchkey_notification_email_deliveries_total{outcome="failed"} 1
latchkey_notification_email_deliveries_total{outcome="rate_limited"} 1
latchkey_notification_email_deliveries_total{outcome="retrying"} 1
latchkey_notification_email_deliveries_total{outcome="sent"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
