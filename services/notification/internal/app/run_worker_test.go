package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// hookedStore runs before (when set) ahead of each Finish: an error it
// returns is Finish's.
type hookedStore struct {
	store.Store
	before func(d *delivery.Delivery) error
}

func (s hookedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(hookedTx{tx, s.before}) })
}

type hookedTx struct {
	store.Tx
	before func(d *delivery.Delivery) error
}

func (t hookedTx) Finish(ctx context.Context, d *delivery.Delivery, r store.Result, now time.Time) (bool, error) {
	if err := t.before(d); err != nil {
		return false, err
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
		// It cannot record the outcome of deliveries to bad@example.com.
		st := hookedStore{sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), func(d *delivery.Delivery) error {
			if d.RecipientAddress == "bad@example.com" {
				return errors.New("cannot record")
			}
			return nil
		}}
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

// oneMessage is a service on st whose SMTP server accepts every message
// (sent counts them), with one message requested.
func oneMessage(t *testing.T, st store.Store) (*app.App, *delivery.Delivery, *atomic.Int32) {
	t.Helper()
	sent := &atomic.Int32{}
	use := app.New(st, clock.System{}, nil, senderFunc(func(*mailer.Envelope) error { sent.Add(1); return nil }), app.Options{
		Workers: 2, Poll: 10 * time.Millisecond, Lease: time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	d, err := use.SendNotification(context.Background(), delivery.Request{
		RequestID: "r1", TenantID: "0193a000-0000-7000-8000-000000000001", Template: delivery.PasswordChanged,
		RecipientAddress: "kees@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return use, d, sent
}

// A message the SMTP server accepted while the database was restarting is
// recorded SENT once the database is back, within its lease, and so is
// not sent a second time (seen in the PostgreSQL-restart fault test: the
// outcome was given up at once, the lease ran out and the e-mail went out
// twice).
func TestRunWorker_OutcomeRecordedOnceTheDatabaseIsBack(t *testing.T) {
	testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		down := &atomic.Int32{}
		down.Store(5)
		// It cannot reach the database for the first five tries to
		// record an outcome, as during a restart.
		st := hookedStore{sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), func(*delivery.Delivery) error {
			if down.Add(-1) >= 0 {
				return errs.Unavailable("UNAVAILABLE", "temporarily unavailable, try again shortly", nil)
			}
			return nil
		}}
		use, d, sent := oneMessage(t, st)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = use.RunWorker(ctx)
		}()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got, err := st.Get(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == delivery.Sent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery %s after the outage; want SENT", got.Status)
			}
		}
		cancel()
		<-done
		if n := sent.Load(); n != 1 {
			t.Fatalf("sent %d times; want once", n)
		}
	})
}

// A message the SMTP server accepted is recorded SENT even when the
// service is told to stop while the outcome is being written (seen in the
// SIGTERM fault test: the write failed with "context canceled", the lease
// ran out and another replica sent the e-mail a second time).
func TestRunWorker_OutcomeRecordedWhenTheStopComesDuringTheWrite(t *testing.T) {
	testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The service is told to stop while the outcome is being written.
		st := hookedStore{sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), func(*delivery.Delivery) error {
			cancel()
			return nil
		}}
		use, d, sent := oneMessage(t, st)
		if err := use.RunWorker(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != delivery.Sent || sent.Load() != 1 {
			t.Fatalf("delivery %s after %d sends; want SENT after one", got.Status, sent.Load())
		}
	})
}
