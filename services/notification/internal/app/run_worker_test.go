package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// failingFinishStore cannot record the outcome of deliveries to
// bad@example.com.
type failingFinishStore struct{ store.Store }

func (s failingFinishStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(failingFinishTx{tx}) })
}

type failingFinishTx struct{ store.Tx }

func (t failingFinishTx) Finish(ctx context.Context, d *delivery.Delivery, r store.Result, now time.Time) (bool, error) {
	if d.RecipientAddress == "bad@example.com" {
		return false, errors.New("cannot record")
	}
	return t.Tx.Finish(ctx, d, r, now)
}

// The worker records outcomes that end together in one transaction: one
// it cannot record must not keep the others from being recorded SENT.
func TestRunWorker_AnOutcomeThatCannotBeRecordedDoesNotHoldUpTheOthers(t *testing.T) {
	const tenant = "0193a000-0000-7000-8000-000000000001"
	testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := failingFinishStore{sqlstore.New(db, outbox.New(db, clock.System{}, "notification"))}
		use := app.New(st, clock.System{}, nil, senderFunc(func(*mailer.Envelope) error { return nil }), app.Options{
			Workers: 4, Poll: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		var bad *delivery.Delivery
		for i := range 12 {
			to := fmt.Sprintf("ok%d@example.com", i)
			if i == 5 {
				to = "bad@example.com"
			}
			d, err := use.SendNotification(ctx, delivery.Request{
				RequestID: fmt.Sprint("r", i), TenantID: tenant, Template: delivery.PasswordChanged, RecipientAddress: to,
			})
			if err != nil {
				t.Fatal(err)
			}
			if i == 5 {
				bad = d
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = use.RunWorker(ctx)
		}()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			c, err := st.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c[delivery.Sent] == 11 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("counts %v; want the 11 recordable deliveries SENT", c)
			}
		}
		cancel()
		<-done
		if got, err := st.Get(context.Background(), bad.ID); err != nil || got.Status != delivery.Sending {
			t.Fatalf("the delivery whose outcome could not be recorded: %+v, %v; want SENDING (its lease runs out)", got, err)
		}
	})
}
