package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// One notice per event, however often the event arrives, with the event's
// time in the message and the caller's variables left alone.
func TestNoticeFromEvent_OncePerEventWithItsTime(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenMigrated(t, dbx.SQLite, "notification", sqlstore.Migrate)
	st := sqlstore.New(db, outbox.New(db, clock.System{}, "notification"))
	use := app.New(st, clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), nil, nil, app.Options{})
	vars := map[string]string{"reason": "FAILED_ATTEMPTS"}
	n := app.Notice{
		EventID: "ev-1", TenantID: "0193a000-0000-7000-8000-000000000001", AccountID: "0193a000-0000-7000-8000-0000000000a1",
		Template: delivery.AccountLocked, OccurredAt: time.Date(2026, 11, 30, 8, 15, 0, 0, time.FixedZone("CET", 3600)),
		Variables: vars,
	}
	for range 2 {
		if err := st.InTx(ctx, func(tx store.Tx) error { return use.NoticeFromEvent(ctx, tx, n) }); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := st.Counts(ctx)
	if err != nil || counts[delivery.Queued] != 1 {
		t.Fatalf("Counts = %v, %v; want one queued notice", counts, err)
	}
	claimed, err := st.Claim(ctx, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	d := claimed[0]
	if d.RequestID != "event:ev-1" || d.Variables["time"] != "2026-11-30T07:15:00Z" || d.Variables["reason"] != "FAILED_ATTEMPTS" {
		t.Fatalf("notice %+v", d)
	}
	if _, ok := vars["time"]; ok {
		t.Error("the caller's variables were changed")
	}
}
